-- The review store as create_all made it before Alembic (main at afdc9fb, nightdesk/review/models.py),
-- dumped from SQLite: tests/test_review_schema.py adopts and upgrades a store made from it.
CREATE TABLE review_audit (
	id INTEGER NOT NULL, 
	draft_id VARCHAR(400) NOT NULL, 
	actor VARCHAR(100) NOT NULL, 
	action VARCHAR(20) NOT NULL, 
	from_state VARCHAR(20), 
	to_state VARCHAR(20) NOT NULL, 
	at DATETIME NOT NULL, 
	details TEXT NOT NULL, 
	CONSTRAINT pk_review_audit PRIMARY KEY (id), 
	CONSTRAINT "ck_%(table_name)s_action" CHECK (action IN ('enqueue', 'claim', 'release', 'approve', 'edit', 'reject', 'comment', 'publish', 'withdraw', 'conflict')), 
	CONSTRAINT fk_review_audit_draft_id FOREIGN KEY(draft_id) REFERENCES review_items (draft_id)
);
CREATE TABLE review_items (
	draft_id VARCHAR(400) NOT NULL, 
	logical_date DATE NOT NULL, 
	story_id VARCHAR(300) NOT NULL, 
	story_type VARCHAR(100) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	text TEXT NOT NULL, 
	original_text TEXT NOT NULL, 
	media_relpath VARCHAR(500) NOT NULL, 
	media_sha256 VARCHAR(64) NOT NULL, 
	facts_json TEXT NOT NULL, 
	qc_passed BOOLEAN NOT NULL, 
	qc_json TEXT NOT NULL, 
	attempts_json TEXT DEFAULT '[]' NOT NULL, 
	attempts INTEGER NOT NULL, 
	generator VARCHAR(100) NOT NULL, 
	model_id VARCHAR(300) NOT NULL, 
	state VARCHAR(20) NOT NULL, 
	version INTEGER NOT NULL, 
	claimed_by VARCHAR(100), 
	claim_expires_at DATETIME, 
	decided_by VARCHAR(100), 
	decided_at DATETIME, 
	reject_reason TEXT, 
	published_at DATETIME, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_review_items PRIMARY KEY (draft_id), 
	CONSTRAINT "ck_%(table_name)s_state" CHECK (state IN ('queued', 'claimed', 'approved', 'edited_approved', 'rejected', 'published', 'withdrawn')), 
	CONSTRAINT "ck_%(table_name)s_kind" CHECK (kind IN ('headline', 'brief', 'summary', 'marketing', 'cover'))
);
CREATE TABLE review_users (
	id INTEGER NOT NULL, 
	username VARCHAR(100) NOT NULL, 
	password_hash VARCHAR(300) NOT NULL, 
	role VARCHAR(20) NOT NULL, 
	created_at DATETIME NOT NULL, 
	disabled BOOLEAN NOT NULL, 
	CONSTRAINT pk_review_users PRIMARY KEY (id), 
	CONSTRAINT "ck_%(table_name)s_role" CHECK (role IN ('editor', 'admin')), 
	CONSTRAINT uq_review_users_username UNIQUE (username)
);
CREATE INDEX ix_review_audit_actor_id ON review_audit (actor, id);
CREATE INDEX ix_review_audit_draft_id_id ON review_audit (draft_id, id);
CREATE INDEX ix_review_items_kind ON review_items (kind);
CREATE INDEX ix_review_items_logical_date_state ON review_items (logical_date, state);
CREATE INDEX ix_review_items_qc_passed ON review_items (qc_passed);
CREATE INDEX ix_review_items_state ON review_items (state);
CREATE INDEX ix_review_items_story_type ON review_items (story_type);
