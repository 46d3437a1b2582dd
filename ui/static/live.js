// Redraws the running builds of the builds list until they end, from
// GET /ui/builds/status. It only sets text and same-origin links: every
// value is the server's, and none is read as HTML.
"use strict";
(function () {
  var every = 2000;
  function running() {
    return Array.prototype.map.call(document.querySelectorAll("tr[data-running]"), function (tr) {
      return tr.getAttribute("data-running");
    });
  }
  function set(tr, cls, text) {
    var td = tr.querySelector("td." + cls);
    if (td) { td.textContent = text; }
    return td;
  }
  function draw(row) {
    var tr = document.getElementById("build-" + row.id);
    if (!tr) { return; }
    var status = set(tr, "status", row.status);
    if (status) { status.className = "status outcome-" + row.outcome; }
    set(tr, "took", row.took);
    set(tr, "worker", row.worker);
    var image = set(tr, "image", "");
    if (image) {
      if (row.imageURL && row.imageURL.indexOf("/ui/images/") === 0) {
        var a = document.createElement("a");
        a.href = row.imageURL;
        a.textContent = row.image;
        image.appendChild(a);
      } else {
        image.textContent = row.image;
      }
    }
    if (!row.running) { tr.removeAttribute("data-running"); }
  }
  function poll() {
    var ids = running();
    if (ids.length === 0) { return; }
    var q = ids.map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");
    fetch("/ui/builds/status?" + q, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (rows) { rows.forEach(draw); })
      .catch(function () { every = Math.min(every * 2, 30000); })
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();
