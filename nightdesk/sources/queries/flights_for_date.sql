-- One day's scheduled flights from the operational database.
SELECT flight_id, year, month, day, dep_time, sched_dep_time, dep_delay, arr_time,
       sched_arr_time, arr_delay, carrier, flight, tailnum, origin, dest, air_time,
       distance, hour, minute, time_hour
FROM flights
WHERE flight_date = :logical_date
ORDER BY flight_id
