// Keyboard shortcuts of the back office, for a reviewer's hundred cases a day. Everything they
// do is also a link or a button: without this file the pages work the same, by mouse.
//   j / k   the next / previous case in review     a / r   accept / reject the first failed check
//   ?       this help                              Ctrl+Enter in a reason: send the decision
(function () {
  "use strict";

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function follow(rel) {
    var link = document.querySelector('a[rel="' + rel + '"]');
    if (link) { link.click(); }
  }

  // The decision form of the first check that waits for a person (failed); none, nothing.
  function decide(decision) {
    var row = document.querySelector("tr.check-row.status-failed");
    if (!row) { return; }
    var details = row.querySelector("details");
    if (details) { details.open = true; }
    var form = row.querySelector("form");
    var reason = form && form.querySelector("textarea");
    if (!reason) { return; }
    form.dataset.decision = decision;
    form.classList.toggle("deciding-accept", decision === "accept");
    form.classList.toggle("deciding-reject", decision === "reject");
    reason.focus();
  }

  function toggleHelp() {
    var help = document.getElementById("keys-help");
    if (help) { help.open = !help.open; }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.matches("textarea")) {
      var form = target.form;
      var decision = form && (form.dataset.decision || "accept");
      var button = form && form.querySelector('button[value="' + decision + '"]');
      if (button) { event.preventDefault(); button.click(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(target)) { return; }
    if (document.querySelector("dialog[open]")) { return; } // the scan viewer has its own keys
    var actions = {
      j: function () { follow("next"); },
      k: function () { follow("prev"); },
      a: function () { decide("accept"); },
      r: function () { decide("reject"); },
      "?": toggleHelp,
    };
    if (actions[event.key]) { event.preventDefault(); actions[event.key](); }
  });
})();
