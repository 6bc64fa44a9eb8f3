// The scan viewer of the back office: a page at the scan's own resolution, zoomed and panned in
// place, with the boxes the reader judged drawn over it. Every link that opens it
// (a.zoom-open) leads to the same image without this file: the page works by plain links too.
//   wheel or + / -   zoom around the pointer (or the middle)     drag   pan
//   0                the whole page                              Esc    close
(function () {
  "use strict";

  var PAGE_MM = [210, 297];
  var MOST = 4; // image pixels shown at most four screen pixels wide
  var view = null; // {dialog, stage, sheet, image, scale, x, y, fit}

  function paint() {
    view.sheet.style.transform =
      "translate(" + view.x + "px, " + view.y + "px) scale(" + view.scale + ")";
    var shown = view.dialog.querySelector(".viewer-scale");
    if (shown) { shown.textContent = Math.round(view.scale * 100) + " %"; }
  }

  function whole() {
    var width = view.stage.clientWidth, height = view.stage.clientHeight;
    var natural = [view.image.naturalWidth, view.image.naturalHeight];
    view.fit = Math.min(width / natural[0], height / natural[1]);
    view.scale = view.fit;
    view.x = (width - natural[0] * view.scale) / 2;
    view.y = (height - natural[1] * view.scale) / 2;
    paint();
  }

  // A box of the form, in millimetres "x y w h": filling most of the screen, centred.
  function focus(box) {
    var mm = box.split(" ").map(Number);
    var perMm = view.image.naturalWidth / PAGE_MM[0];
    var width = view.stage.clientWidth, height = view.stage.clientHeight;
    view.scale = Math.min(MOST, 0.9 * width / (mm[2] * perMm), 0.9 * height / (mm[3] * perMm));
    view.x = width / 2 - (mm[0] + mm[2] / 2) * perMm * view.scale;
    view.y = height / 2 - (mm[1] + mm[3] / 2) * perMm * view.scale;
    paint();
  }

  function zoom(factor, atX, atY) {
    var scale = Math.max(view.fit / 2, Math.min(MOST, view.scale * factor));
    view.x = atX - (atX - view.x) * scale / view.scale;
    view.y = atY - (atY - view.y) * scale / view.scale;
    view.scale = scale;
    paint();
  }

  function open(link) {
    var dialog = document.getElementById("viewer");
    if (!dialog) { return false; }
    var sheet = dialog.querySelector(".viewer-sheet");
    var image = sheet.querySelector("img");
    var old = sheet.querySelector("svg");
    if (old) { old.remove(); }
    var marks = link.dataset.marks && document.getElementById(link.dataset.marks);
    if (marks) { sheet.appendChild(marks.cloneNode(true)).removeAttribute("id"); }
    view = { dialog: dialog, stage: dialog.querySelector(".viewer-stage"), sheet: sheet,
             image: image, scale: 1, x: 0, y: 0, fit: 1 };
    dialog.querySelector(".viewer-title").textContent = link.dataset.title || "";
    var ready = function () {
      sheet.style.width = image.naturalWidth + "px";
      sheet.style.height = image.naturalHeight + "px";
      whole();
      if (link.dataset.focus) { focus(link.dataset.focus); }
      dialog.dataset.ready = "true";
    };
    delete dialog.dataset.ready;
    image.onload = ready;
    image.alt = link.dataset.title || "";
    image.src = link.getAttribute("href");
    dialog.showModal();
    if (image.complete && image.naturalWidth) { ready(); }
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.zoom-open");
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey && open(link)) {
      event.preventDefault();
      return;
    }
    if (view && event.target.closest(".viewer-close")) { view.dialog.close(); }
  });

  document.addEventListener("keydown", function (event) {
    if (!view || !view.dialog.open) { return; }
    var middle = [view.stage.clientWidth / 2, view.stage.clientHeight / 2];
    var keys = {
      "+": function () { zoom(1.25, middle[0], middle[1]); },
      "=": function () { zoom(1.25, middle[0], middle[1]); },
      "-": function () { zoom(0.8, middle[0], middle[1]); },
      "0": whole,
    };
    if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
  });

  document.addEventListener("wheel", function (event) {
    if (!view || !view.dialog.open || !event.target.closest(".viewer-stage")) { return; }
    event.preventDefault();
    var at = view.stage.getBoundingClientRect();
    zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - at.left, event.clientY - at.top);
  }, { passive: false });

  var dragged = null;
  document.addEventListener("pointerdown", function (event) {
    if (!view || !view.dialog.open || !event.target.closest(".viewer-stage")) { return; }
    dragged = { x: event.clientX - view.x, y: event.clientY - view.y };
    view.stage.setPointerCapture(event.pointerId);
  });
  document.addEventListener("pointermove", function (event) {
    if (!dragged) { return; }
    view.x = event.clientX - dragged.x;
    view.y = event.clientY - dragged.y;
    paint();
  });
  document.addEventListener("pointerup", function () { dragged = null; });
})();
