// Slipway Bridge: live refresh, stale marker, copy buttons. No framework.
(function () {
  "use strict";
  var main = document.getElementById("main");

  function copyText(id, btn) {
    var el = document.getElementById(id);
    if (!el) return;
    var text = el.textContent;
    var done = function () {
      btn.textContent = "Copied"; btn.classList.add("copied");
      setTimeout(function () { btn.textContent = "Copy event JSON"; btn.classList.remove("copied"); }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(el); done(); });
    } else { fallback(el); done(); }
  }
  function fallback(el) {
    var r = document.createRange(); r.selectNodeContents(el);
    var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected */ }
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("button[data-copy]");
    if (b) { copyText(b.getAttribute("data-copy"), b); }
  });

  // Keptn's event deep link: open and show the named event.
  function openLinked() {
    var m = document.getElementById("open-event");
    var id = m ? m.getAttribute("data-id") : (location.hash.indexOf("#ev-") === 0 ? location.hash.slice(4) : "");
    var d = id && document.getElementById("ev-" + id);
    if (d) { d.open = true; d.scrollIntoView(); }
  }
  openLinked();

  if (!main || !main.hasAttribute("data-live")) return;
  var every = parseInt(main.getAttribute("data-live"), 10) || 1000;
  var status = document.getElementById("live-status");
  var last = Date.now(), lastLabel = status ? status.textContent.replace(/^Live · updated /, "") : "";
  var busy = false;

  function markStale() {
    if (!status) return;
    if (Date.now() - last > 3 * every + 2000) {
      status.classList.add("stale");
      status.textContent = "Stale · last update " + lastLabel + " · retrying";
    }
  }
  // The content is not replaced while someone fills a form in it (focus in
  // a field, or a field changed) or right after a copy (its feedback).
  var edited = false;
  function typing() {
    var a = document.activeElement;
    return edited || (a && live.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName)) ||
      live.querySelector("button.copied") !== null;
  }
  var live = document.getElementById("live");
  live.addEventListener("input", function () { edited = true; });
  live.addEventListener("change", function () { edited = true; });
  function poll() {
    if (busy || document.hidden) { markStale(); return; }
    busy = true;
    fetch(location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (res) {
        if (!res.ok) throw new Error("status " + res.status);
        return res.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("live");
        var freshMain = doc.getElementById("main");
        var freshStatus = doc.getElementById("live-status");
        if (!fresh) throw new Error("no live region");
        last = Date.now();
        lastLabel = freshStatus ? freshStatus.textContent.replace(/^Live · updated /, "") : new Date().toISOString().slice(11, 19);
        if (status) {
          status.classList.remove("stale");
          status.textContent = (edited ? "Paused while you edit a form · updated " : "Live · updated ") + lastLabel;
        }
        if (!typing() && fresh.innerHTML !== live.innerHTML) {
          var open = {};
          live.querySelectorAll("details[id]").forEach(function (d) { if (d.open) open[d.id] = true; });
          var focus = document.activeElement && live.contains(document.activeElement) ? focusKey(document.activeElement) : null;
          live.innerHTML = fresh.innerHTML;
          live.querySelectorAll("details[id]").forEach(function (d) { if (open[d.id]) d.open = true; });
          if (focus) restoreFocus(focus);
        }
        // A finished sequence stops following.
        if (freshMain && !freshMain.hasAttribute("data-live")) {
          clearInterval(timer);
          if (status) status.textContent = "Finished · updated " + lastLabel;
        }
      })
      .catch(function () { markStale(); })
      .then(function () { busy = false; });
  }
  // Focus survives a swap: the element is found again by id, or by form
  // action and button value.
  function focusKey(el) {
    if (el.id) return { id: el.id };
    var f = el.form;
    return { action: f ? f.getAttribute("action") : null, name: el.name, value: el.value, stage: f && f.stage ? f.stage.value : "" };
  }
  function restoreFocus(k) {
    var el = null;
    if (k.id) el = document.getElementById(k.id);
    else live.querySelectorAll("button").forEach(function (b) {
      if (!el && b.form && b.form.getAttribute("action") === k.action && b.name === k.name && b.value === k.value &&
          (!b.form.stage || b.form.stage.value === k.stage)) el = b;
    });
    if (el) el.focus();
  }
  var timer = setInterval(poll, every);
  setInterval(markStale, 1000);
})();
