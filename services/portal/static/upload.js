// Resumable uploads of an application's documents, with progress. Without this script each
// form is a plain multipart upload; with it, the file goes to the nominations service in pieces
// (POST .../uploads, then PATCH /uploads/{id} with Upload-Offset), and a dropped connection or
// a reload resumes where the server is: the upload's id is kept in localStorage under the
// file's name, size and date, so choosing the same file again continues it.
(function () {
  "use strict";
  var base = document.querySelector("link[rel=stylesheet]").getAttribute("href").replace(/\/static\/portal\.css$/, "");
  var words = {
    kk: {sending: "Жіберілуде: ", paused: "Байланыс үзілді; қайта жалғануда…", done: "Тіркелді.", failed: "Жіберілмеді: "},
    ru: {sending: "Отправка: ", paused: "Связь прервалась; продолжаем…", done: "Прикреплено.", failed: "Не отправлено: "},
    en: {sending: "Sending: ", paused: "The connection dropped; resuming…", done: "Attached.", failed: "Not sent: "}
  }[document.documentElement.lang] || {};

  function key(form, file) {
    return ["uzdik-upload", form.dataset.application, form.dataset.kind, file.name, file.size, file.lastModified].join("|");
  }

  function call(method, url, csrf, body, headers) {
    var h = {"X-CSRF-Token": csrf, "Accept": "application/json"};
    for (var k in headers || {}) { h[k] = headers[k]; }
    return fetch(base + url, {method: method, headers: h, body: body, credentials: "same-origin"}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { j._status = r.status; return j; });
    });
  }

  function sleep(ms) { return new Promise(function (ok) { setTimeout(ok, ms); }); }

  async function send(form, file) {
    var csrf = form.querySelector("input[name=csrf]").value;
    var bar = form.querySelector("progress"), status = form.querySelector(".status");
    var chunk = parseInt(form.dataset.chunk, 10) || 8388608;
    bar.hidden = false;
    var stored = localStorage.getItem(key(form, file)), upload = null, offset = 0;
    if (stored) {
      var seen = await call("GET", "/uploads/" + stored, csrf);
      if (seen._status === 200) { upload = stored; offset = seen.offset; }
    }
    if (!upload) {
      var opened = await call("POST", "/applications/" + form.dataset.application + "/uploads", csrf,
        JSON.stringify({kind: form.dataset.kind, filename: file.name, size: file.size}),
        {"Content-Type": "application/json"});
      if (opened._status !== 201) { throw opened; }
      upload = opened.upload_id;
      localStorage.setItem(key(form, file), upload);
    }
    var failures = 0;
    while (true) {
      bar.value = Math.floor(100 * offset / file.size);
      status.textContent = (words.sending || "") + bar.value + "%";
      var answer;
      try {
        answer = await call("PATCH", "/uploads/" + upload, csrf, file.slice(offset, offset + chunk),
          {"Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream"});
      } catch (lost) {
        answer = {_status: 0};
      }
      if (answer._status === 200) {
        failures = 0;
        offset = answer.offset;
        if (answer.complete) { localStorage.removeItem(key(form, file)); return answer; }
        continue;
      }
      if (answer._status === 409 && typeof answer.offset === "number") { offset = answer.offset; continue; }
      if (answer._status >= 400 && answer._status < 500) { localStorage.removeItem(key(form, file)); throw answer; }
      failures += 1;  // the line or the service: wait, ask the server where it is, go on
      if (failures > 30) { throw {message: words.paused}; }
      status.textContent = words.paused || "";
      await sleep(Math.min(10000, 500 * failures));
      var where = await call("GET", "/uploads/" + upload, csrf).catch(function () { return {_status: 0}; });
      if (where._status === 200) { offset = where.offset; }
    }
  }

  document.querySelectorAll("form[data-resumable]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      if (!input.files.length || !window.fetch || !window.Promise) { return; }  // the plain form
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      send(form, input.files[0]).then(function () {
        form.querySelector(".status").textContent = words.done || "";
        window.location.reload();
      }, function (problem) {
        button.disabled = false;
        form.querySelector(".status").textContent = (words.failed || "") + (problem.message || problem.detail || problem.code || "");
      });
    });
  });
})();
