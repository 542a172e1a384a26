/* Agent console for cases: live countdowns, quick replies, "tick all" for bulk assign.
 * Everything works without this file: the server renders the due time and the time left,
 * quick replies reload the page with the answer filled in, and boxes are ticked one by one. */
(function () {
  "use strict";

  var words = null;

  function loadWords() {
    var node = document.getElementById("case-countdown-words");
    if (!node) return null;
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  /* Fills the Python-style placeholders of the translated words: %(d)d, %(m)02d, %(amount)s. */
  function fill(template, values) {
    return template.replace(/%\((\w+)\)(02d|d|s)/g, function (all, name, kind) {
      var value = values[name];
      if (kind === "02d") return (value < 10 ? "0" : "") + value;
      return String(value);
    });
  }

  function left(seconds) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    var amount;
    if (days) amount = fill(words.days, { d: days, h: hours });
    else if (hours) amount = fill(words.hours, { h: hours, m: mins });
    else amount = fill(words.minutes, { m: mins });
    return fill(seconds < 0 ? words.overdue : words["in"], { amount: amount });
  }

  function tick() {
    if (!words) words = loadWords();
    if (!words) return;
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (node) {
      var due = Date.parse(node.getAttribute("data-due"));
      if (isNaN(due)) return;
      var seconds = Math.floor((due - now) / 1000);
      var text = node.querySelector(".case-countdown");
      if (text) text.textContent = left(seconds);
      node.classList.toggle("overdue", seconds < 0);
    });
  }

  function useSolution(select) {
    var option = select.options[select.selectedIndex];
    var body = document.getElementById(select.getAttribute("data-body-field"));
    var solution = document.getElementById(select.getAttribute("data-solution-field"));
    if (!option || !option.value || !body) return;
    var text = option.getAttribute("data-body") || "";
    body.value = body.value.trim() ? body.value.replace(/\s*$/, "\n\n") + text : text;
    if (solution) solution.value = option.value;
    body.focus();
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("select[data-quick-reply]")) useSolution(target);
    if (target.matches("input[data-check-all]")) {
      var form = target.closest("form");
      if (!form) return;
      form.querySelectorAll('input[type=checkbox][name="cases"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-quick-reply-form]")) return;
    event.preventDefault(); // with JavaScript the answer goes straight into the reply box
    useSolution(form.querySelector("select[data-quick-reply]"));
  });

  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  window.setInterval(tick, 15000);
})();
