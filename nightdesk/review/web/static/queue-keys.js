// Keyboard navigation of the review queue: j / ArrowDown next draft, k / ArrowUp previous,
// Enter opens it, s opens its story, x selects it for "Approve selected".
//
// Served from the app's static directory: the Content-Security-Policy allows scripts from
// this origin only, never inline ones. Moving means focusing a draft's link, so Enter is
// the browser's own and assistive technology reads the focused row; without this file the
// queue works the same with Tab.
(function () {
  "use strict";

  var FORM_FIELDS = ["INPUT", "SELECT", "TEXTAREA", "BUTTON"];

  function draftLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-table a.draft-link"));
  }

  function currentRow() {
    var active = document.activeElement;
    return active && active.classList.contains("draft-link") ? active.closest("tr.draft-row") : null;
  }

  function move(step) {
    var links = draftLinks();
    if (links.length === 0) {
      return;
    }
    var at = links.indexOf(document.activeElement);
    var next = at === -1 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, at + step));
    links[next].focus();
    links[next].scrollIntoView({block: "nearest"});
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey || target.isContentEditable
        || FORM_FIELDS.indexOf(target.tagName) !== -1) {
      return;  // typing in the filters, or a shortcut of the browser's
    }
    var row = currentRow();
    switch (event.key) {
      case "j":
      case "ArrowDown":
        move(1);
        break;
      case "k":
      case "ArrowUp":
        move(-1);
        break;
      case "s":
        if (!row) {
          return;
        }
        window.location.assign(row.getAttribute("data-story-href"));
        break;
      case "x":
        var box = row && row.querySelector("input[type=checkbox]");
        if (!box) {
          return;
        }
        box.checked = !box.checked;
        break;
      default:
        return;
    }
    event.preventDefault();
  });
})();
