// The book's "A failing schedule, drawn" page: it opens a file that `workbook check exNN --save
// FILE` wrote (a failing controlled schedule) and draws it as swimlanes, one column per process
// and one row per access or call, as the checker draws it in the terminal. The rows marked by the
// checker (the three accesses that met across a preemption) are highlighted, each preemption is
// a line of its own, and the rows far from both are folded into "… N rows …" lines that open on
// a click. Keys step through the rows, for a projector.
//
// Plain JavaScript, no network: it works from `mdbook serve` and from a file. It starts on any
// element with the class `failing-schedule` and does nothing on other pages. The file's text is
// only ever put on the page as text.
(function () {
  "use strict";

  var KIND = "shm-workbook failing schedule";
  // Rows shown either side of a marked row and of a preemption.
  var CONTEXT = 3;
  // A run this short is shown whole, as the terminal's drawing does.
  var WHOLE = 44;
  // Fewer hidden rows than this are shown rather than folded.
  var SMALLEST_FOLD = 3;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) {
      if (key === "class") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    }
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Text with `code` spans, as the checker writes its sentences, on the page as text.
  function withCode(node, text) {
    String(text).split("`").forEach(function (part, i) {
      if (!part) return;
      node.appendChild(i % 2 ? el("code", {}, part) : document.createTextNode(part));
    });
    return node;
  }

  // ---- the file ----------------------------------------------------------------------------

  // The saved schedule, checked field by field; throws an Error whose message is a sentence.
  function parse(text) {
    var data;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new Error("it is not JSON (" + e.message + ")");
    }
    if (!data || typeof data !== "object") throw new Error("it is not a JSON object");
    if (data.kind !== KIND) {
      throw new Error("it is not a failing schedule saved by `workbook check exNN --save FILE` " +
        "(its kind is " + JSON.stringify(data.kind === undefined ? null : data.kind) + ")");
    }
    if (data.version !== 1) {
      throw new Error("it is version " + JSON.stringify(data.version) + " of the format; " +
        "this page reads version 1");
    }
    function textOf(value, what) {
      if (typeof value !== "string") throw new Error(what + " is not text");
      return value;
    }
    if (!Array.isArray(data.processes) || !data.processes.length) {
      throw new Error("it names no process");
    }
    var names = {};
    var processes = data.processes.map(function (p, i) {
      var what = "process " + (i + 1);
      if (!p || typeof p !== "object") throw new Error(what + " is not an object");
      var name = textOf(p.name, what + "'s name");
      if (names[name] !== undefined) throw new Error("process " + name + " is named twice");
      names[name] = i;
      return { name: name, role: textOf(p.role, what + "'s role") };
    });
    if (!Array.isArray(data.rows)) throw new Error("it has no rows");
    var rows = data.rows.map(function (r, i) {
      var what = "row " + (i + 1);
      if (!r || typeof r !== "object") throw new Error(what + " is not an object");
      var process = textOf(r.process, what + "'s process");
      if (names[process] === undefined) {
        throw new Error(what + " is of process " + process + ", which the file does not name");
      }
      if (r.preempted !== null && typeof r.preempted !== "string") {
        throw new Error(what + "'s preempted is neither a name nor null");
      }
      if (typeof r.marked !== "boolean") throw new Error(what + "'s marked is not true or false");
      return {
        number: Number.isInteger(r.number) ? r.number : i + 1,
        process: process,
        lane: names[process],
        text: textOf(r.text, what + "'s text"),
        marked: r.marked,
        preempted: r.preempted,
      };
    });
    return {
      token: typeof data.token === "string" ? data.token : "",
      diagnosis: typeof data.diagnosis === "string" ? data.diagnosis : "",
      met: typeof data.met === "string" ? data.met : null,
      processes: processes,
      rows: rows,
    };
  }

  // `ex05` from `ex05:5743b306:…`, or null.
  function exerciseOf(token) {
    var match = /^(ex\d\d):[0-9a-f]{8}:/.exec(token);
    return match ? match[1] : null;
  }

  // ---- what is shown -----------------------------------------------------------------------

  // The rows worth showing: all in a short run, else those near a marked row or a preemption.
  function worthShowing(rows) {
    var keep = rows.map(function () {
      return rows.length <= WHOLE;
    });
    rows.forEach(function (row, i) {
      if (!row.marked && row.preempted === null) return;
      for (var j = Math.max(0, i - CONTEXT); j <= Math.min(rows.length - 1, i + CONTEXT); j++) {
        keep[j] = true;
      }
    });
    if (keep.indexOf(true) < 0) {
      // Nothing marked and no preemption: the start, where the story begins.
      for (var k = 0; k < Math.min(rows.length, WHOLE); k++) keep[k] = true;
    }
    return keep;
  }

  // The items drawn, in order: rows ({row: i}) and folds ({from: i, to: j}, rows i to j - 1).
  function items(rows, keep, opened) {
    var out = [];
    var i = 0;
    while (i < rows.length) {
      if (keep[i] || opened[i]) {
        out.push({ row: i });
        i += 1;
        continue;
      }
      var j = i;
      while (j < rows.length && !keep[j] && !opened[j]) j += 1;
      if (j - i < SMALLEST_FOLD) {
        for (var k = i; k < j; k++) out.push({ row: k });
      } else {
        out.push({ from: i, to: j });
      }
      i = j;
    }
    return out;
  }

  // ---- the viewer --------------------------------------------------------------------------

  function Viewer(root) {
    this.root = root;
    this.schedule = null;
    this.source = "";
    this.opened = {};
    this.items = [];
    this.current = -1;
    this.build();
    var sample = root.getAttribute("data-sample");
    var holder = sample && document.getElementById(sample);
    if (holder) {
      this.sampleText = holder.textContent;
      this.showSample();
    } else {
      this.say("Open a failing schedule saved by `workbook check exNN --save FILE`.");
    }
  }

  Viewer.prototype.build = function () {
    var self = this;
    var root = this.root;
    root.textContent = "";
    root.setAttribute("tabindex", "0");
    root.setAttribute("role", "application");
    root.setAttribute("aria-label", "A failing schedule as swimlanes: N or the down arrow steps " +
      "to the next row, U or the up arrow back, M to the next marked row, P to the next " +
      "preemption, Enter opens a fold, A opens them all, R goes to the first row, E to the last");

    var controls = el("div", { class: "fs-controls" });
    var label = el("label", {}, "Open a saved schedule (or drop it here): ");
    this.fileInput = el("input", {
      type: "file", accept: ".json,application/json", "data-control": "schedule-file",
    });
    this.fileInput.addEventListener("change", function () {
      var file = self.fileInput.files && self.fileInput.files[0];
      if (file) self.read(file);
    });
    label.appendChild(this.fileInput);
    controls.appendChild(label);
    this.sampleButton = el("button", { type: "button", "data-action": "show-sample", hidden: "" },
      "Show the sample again");
    this.sampleButton.addEventListener("click", function () {
      self.showSample();
    });
    controls.appendChild(this.sampleButton);
    this.openAllButton = el("button", { type: "button", "data-action": "open-all" },
      "Open every fold (A)");
    this.openAllButton.addEventListener("click", function () {
      self.openAll();
    });
    controls.appendChild(this.openAllButton);
    root.appendChild(controls);

    this.title = el("p", { class: "fs-title", "data-role": "title" });
    root.appendChild(this.title);
    this.status = el("p", { class: "fs-status", "aria-live": "polite", "data-role": "status" });
    root.appendChild(this.status);

    this.panel = el("div", { class: "fs-panel" });
    this.table = el("table", { class: "fs-lanes", "data-role": "lanes" });
    this.panel.appendChild(this.table);
    root.appendChild(this.panel);
    this.panel.addEventListener("click", function (event) {
      var target = event.target.closest ? event.target.closest("[data-item]") : null;
      if (!target) return;
      var index = Number(target.getAttribute("data-item"));
      var item = self.items[index];
      if (item && item.from !== undefined && event.target.closest("button")) {
        self.openFold(index);
      } else if (item) {
        self.moveTo(index);
      }
    });

    this.diagnosis = el("p", { class: "fs-diagnosis", "data-role": "diagnosis" });
    root.appendChild(this.diagnosis);
    this.replay = el("p", { class: "fs-replay", "data-role": "replay" });
    root.appendChild(this.replay);

    root.addEventListener("keydown", function (event) {
      self.key(event);
    });
    root.addEventListener("dragover", function (event) {
      event.preventDefault();
      root.classList.add("fs-dragging");
    });
    root.addEventListener("dragleave", function (event) {
      if (!root.contains(event.relatedTarget)) root.classList.remove("fs-dragging");
    });
    root.addEventListener("drop", function (event) {
      event.preventDefault();
      root.classList.remove("fs-dragging");
      var files = event.dataTransfer && event.dataTransfer.files;
      if (files && files[0]) self.read(files[0]);
    });
  };

  Viewer.prototype.say = function (sentence, bad) {
    this.status.textContent = "";
    withCode(this.status, sentence);
    this.status.classList.toggle("fs-error", !!bad);
  };

  Viewer.prototype.read = function (file) {
    var self = this;
    var reader = new FileReader();
    reader.onload = function () {
      self.load(String(reader.result), file.name, false);
    };
    reader.onerror = function () {
      self.say("Could not read " + file.name + ".", true);
    };
    reader.readAsText(file);
  };

  Viewer.prototype.showSample = function () {
    if (this.sampleText) this.load(this.sampleText, "the sample", true);
  };

  // Draws a saved schedule; a file that is not one leaves the drawing as it was.
  Viewer.prototype.load = function (text, name, sample) {
    var schedule;
    try {
      schedule = parse(text);
    } catch (e) {
      this.say("Cannot draw " + name + ": " + e.message + ". The drawing is unchanged.", true);
      return;
    }
    this.schedule = schedule;
    this.source = name;
    this.keep = worthShowing(schedule.rows);
    this.opened = {};
    this.current = -1;
    this.root.setAttribute("data-source", sample ? "sample" : name);
    this.sampleButton.hidden = sample || !this.sampleText;
    this.title.textContent = (sample ? "The sample" : name) + ": " + schedule.rows.length +
      " rows, " + schedule.processes.length + " processes" +
      (exerciseOf(schedule.token) ? ", " + exerciseOf(schedule.token) : "") + ".";
    this.draw();
    this.drawVerdict();
    this.say("Press N or the down arrow to step through the rows, M for the next marked row.");
  };

  Viewer.prototype.drawVerdict = function () {
    var s = this.schedule;
    this.diagnosis.textContent = "";
    this.diagnosis.appendChild(el("strong", {}, "Diagnosis: "));
    withCode(this.diagnosis, s.diagnosis || "(the file gives none)");
    this.replay.textContent = "";
    if (!s.token) {
      this.replay.appendChild(document.createTextNode("The file holds no replay token."));
      return;
    }
    this.replay.appendChild(el("strong", {}, "Token: "));
    this.replay.appendChild(el("code", { "data-role": "token" }, s.token));
    var exercise = exerciseOf(s.token);
    if (exercise) {
      this.replay.appendChild(document.createTextNode(". The same interleaving again: "));
      this.replay.appendChild(el("code", { class: "fs-command", "data-role": "command" },
        "cargo run --bin workbook -- check " + exercise + " --replay " + s.token));
    } else {
      this.replay.appendChild(document.createTextNode(" (not a token of an exercise)."));
    }
  };

  // The table, from the items.
  Viewer.prototype.draw = function () {
    var s = this.schedule;
    var n = s.processes.length;
    this.items = items(s.rows, this.keep, this.opened);
    var table = this.table;
    table.textContent = "";
    table.style.setProperty("--fs-lanes", String(n));
    var colgroup = el("colgroup");
    colgroup.appendChild(el("col", { class: "fs-col-n" }));
    for (var c = 0; c < n; c++) colgroup.appendChild(el("col", {}));
    table.appendChild(colgroup);
    var head = el("thead");
    var headRow = el("tr");
    headRow.appendChild(el("th", { class: "fs-n", scope: "col" }, "row"));
    s.processes.forEach(function (p, i) {
      var th = el("th", { class: "fs-lane fs-w" + (i % 6), scope: "col" });
      th.appendChild(el("span", { class: "fs-role" }, p.role));
      th.appendChild(el("span", { class: "fs-name" }, p.name));
      headRow.appendChild(th);
    });
    head.appendChild(headRow);
    table.appendChild(head);

    var body = el("tbody");
    var shown = 0;
    var marked = 0;
    var folds = 0;
    this.items.forEach(function (item, index) {
      if (item.from !== undefined) {
        folds += 1;
        var fold = el("tr", { class: "fs-fold", "data-item": String(index) });
        var cell = el("td", { colspan: String(n + 1) });
        cell.appendChild(el("button", {
          type: "button", "data-action": "open-fold",
          title: "Rows " + s.rows[item.from].number + " to " + s.rows[item.to - 1].number +
            ": click (or Enter) to show them",
        }, "… " + (item.to - item.from) + " rows …"));
        fold.appendChild(cell);
        body.appendChild(fold);
        return;
      }
      var row = s.rows[item.row];
      if (row.preempted !== null) {
        var line = el("tr", { class: "fs-preemption", "data-item": String(index) });
        line.appendChild(el("td", { class: "fs-n" }));
        line.appendChild(el("td", { colspan: String(n) },
          "── " + row.preempted + " preempted: " + row.process + " goes"));
        body.appendChild(line);
      }
      var tr = el("tr", {
        class: "fs-row" + (row.marked ? " fs-marked" : ""),
        "data-item": String(index),
        "data-number": String(row.number),
      });
      tr.appendChild(el("td", { class: "fs-n" }, String(row.number)));
      for (var k = 0; k < n; k++) {
        var td = el("td", { class: "fs-lane fs-w" + (k % 6) });
        if (k === row.lane) {
          td.className += " fs-here";
          td.textContent = (row.marked ? "◆ " : "") + row.text;
        }
        tr.appendChild(td);
      }
      body.appendChild(tr);
      shown += 1;
      if (row.marked) marked += 1;
    });
    table.appendChild(body);
    this.root.setAttribute("data-rows", String(s.rows.length));
    this.root.setAttribute("data-shown", String(shown));
    this.root.setAttribute("data-marked", String(marked));
    this.root.setAttribute("data-folds", String(folds));
    this.openAllButton.disabled = folds === 0;
    this.mark();
  };

  // ---- stepping ----------------------------------------------------------------------------

  Viewer.prototype.mark = function () {
    var old = this.table.querySelectorAll(".fs-current");
    for (var i = 0; i < old.length; i++) old[i].classList.remove("fs-current");
    if (this.current < 0) {
      this.root.removeAttribute("data-current");
      return;
    }
    var nodes = this.table.querySelectorAll('[data-item="' + this.current + '"]');
    for (var j = 0; j < nodes.length; j++) nodes[j].classList.add("fs-current");
    var item = this.items[this.current];
    var s = this.schedule;
    if (item.from !== undefined) {
      this.root.setAttribute("data-current", "fold " + s.rows[item.from].number);
      this.say("Rows " + s.rows[item.from].number + " to " + s.rows[item.to - 1].number +
        " are folded: Enter shows them.");
    } else {
      var row = s.rows[item.row];
      var p = s.processes[row.lane];
      this.root.setAttribute("data-current", String(row.number));
      this.say("Row " + row.number + " of " + s.rows.length + ", " + p.role + " (" + p.name +
        "): `" + row.text + "`." +
        (row.preempted !== null ? " Just before it, the checker preempted " + row.preempted +
          " and let " + row.process + " go." : "") +
        (row.marked ? " Marked: one of the three accesses that met across a preemption." : ""));
    }
    this.scrollToCurrent(nodes);
  };

  // Keeps the current item in view inside the panel, under its header, without moving the page.
  Viewer.prototype.scrollToCurrent = function (nodes) {
    if (!nodes.length) return;
    var panel = this.panel;
    var head = this.table.tHead ? this.table.tHead.offsetHeight : 0;
    var top = nodes[0].offsetTop;
    var last = nodes[nodes.length - 1];
    var bottom = last.offsetTop + last.offsetHeight;
    if (top - head < panel.scrollTop) panel.scrollTop = top - head;
    else if (bottom > panel.scrollTop + panel.clientHeight) {
      panel.scrollTop = bottom - panel.clientHeight;
    }
  };

  Viewer.prototype.moveTo = function (index) {
    if (!this.items.length) return;
    this.current = Math.max(0, Math.min(this.items.length - 1, index));
    this.mark();
  };

  // The next item after the current one that `wanted` accepts, if any.
  Viewer.prototype.next = function (wanted) {
    var s = this.schedule;
    for (var i = this.current + 1; i < this.items.length; i++) {
      var item = this.items[i];
      if (item.row !== undefined && wanted(s.rows[item.row])) {
        this.moveTo(i);
        return;
      }
    }
    this.say("No more such rows after this one.");
  };

  Viewer.prototype.openFold = function (index) {
    var item = this.items[index];
    if (!item || item.from === undefined) return;
    for (var i = item.from; i < item.to; i++) this.opened[i] = true;
    this.draw();
    // The first of the rows it held becomes the current one.
    for (var k = 0; k < this.items.length; k++) {
      if (this.items[k].row === item.from) {
        this.moveTo(k);
        break;
      }
    }
  };

  Viewer.prototype.openAll = function () {
    if (!this.schedule) return;
    var at = this.items[this.current];
    var row = at ? (at.row !== undefined ? at.row : at.from) : null;
    for (var i = 0; i < this.schedule.rows.length; i++) this.opened[i] = true;
    this.draw();
    if (row !== null) this.moveTo(row);
  };

  Viewer.prototype.key = function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || !this.schedule) return;
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT")) return;
    var k = event.key;
    // Space and Enter on a focused button press that button.
    if (target && target.tagName === "BUTTON" && (k === " " || k === "Enter")) return;
    var handled = true;
    if (k === "n" || k === "N" || k === "ArrowDown" || k === "j") this.moveTo(this.current + 1);
    else if (k === "u" || k === "U" || k === "ArrowUp" || k === "k" || k === "Backspace") {
      this.moveTo(this.current - 1);
    } else if (k === "m" || k === "M") this.next(function (row) {
      return row.marked;
    });
    else if (k === "p" || k === "P") this.next(function (row) {
      return row.preempted !== null;
    });
    else if (k === "Enter" || k === "o" || k === "O") this.openFold(this.current);
    else if (k === "a" || k === "A") this.openAll();
    else if (k === "r" || k === "R" || k === "Home") this.moveTo(0);
    else if (k === "e" || k === "E" || k === "End") this.moveTo(this.items.length - 1);
    else handled = false;
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  function start() {
    var roots = document.querySelectorAll(".failing-schedule");
    for (var i = 0; i < roots.length; i++) {
      if (!roots[i].failingSchedule) roots[i].failingSchedule = new Viewer(roots[i]);
    }
  }

  // For tests and for the curious: the reading and the folding without the page.
  window.failingSchedule = { parse: parse, worthShowing: worthShowing, items: items };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
