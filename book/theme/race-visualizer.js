// The race visualizer of the book's "Race visualizer" page: two or three processes add one to a
// counter in a shared segment, each with a load, an add and a store, and the reader decides who
// runs next (or lets a seeded random scheduler decide). Every lost update is marked where it
// happens. The same work can be put under a semaphore (P and V around the critical section) or
// done with one atomic fetch_add, and no update is lost. It also replays the load/add/store
// events that `lesson04 --trace FILE` records.
//
// Plain JavaScript and SVG, no network: it works from `mdbook serve` and from a file. It starts
// on any element with the class `race-visualizer` and does nothing on other pages.
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";

  // What each process runs, one step per entry.
  var PROGRAMS = {
    none: ["load", "add", "store"],
    semaphore: ["P", "load", "add", "store", "V"],
    atomic: ["fetch_add"],
  };
  var PROGRAM_TEXT = {
    P: "P(sem)   semop -1",
    load: "load     seen = counter",
    add: "add      seen + 1",
    store: "store    counter = seen + 1",
    V: "V(sem)   semop +1",
    fetch_add: "fetch_add(counter, 1)",
  };
  var MODE_TEXT = {
    none: "no protection",
    semaphore: "a semaphore",
    atomic: "an atomic fetch_add",
  };

  // A small seeded generator (mulberry32) whose state lives in the model, so that undo and
  // reset repeat it: the same seed gives the same interleaving.
  function nextRandom(state) {
    state.random = (state.random + 0x6d2b79f5) >>> 0;
    var t = state.random;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) {
      if (key === "class") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    }
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- the model -------------------------------------------------------------------------

  function newState(settings) {
    var procs = [];
    for (var i = 0; i < settings.processes; i++) {
      procs.push({
        name: "worker " + (i + 1),
        pc: 0,
        seen: null,
        sum: null,
        done: 0,
        blocked: false,
        finished: false,
        mark: null,
      });
    }
    return {
      settings: settings,
      counter: 0,
      sem: 1,
      holder: null,
      expected: 0,
      lostEvents: 0,
      procs: procs,
      log: [],
      random: settings.seed,
      steps: 0,
    };
  }

  function clone(state) {
    return JSON.parse(JSON.stringify(state));
  }

  function runnable(state) {
    var list = [];
    state.procs.forEach(function (p, i) {
      if (!p.finished && !p.blocked) list.push(i);
    });
    return list;
  }

  function allFinished(state) {
    return state.procs.every(function (p) {
      return p.finished;
    });
  }

  function addLog(state, who, op, text, note, kind) {
    state.log.push({ who: who, op: op, text: text, note: note || "", kind: kind || "", counter: state.counter });
  }

  // One step of process i. Returns false when it cannot move (finished or blocked).
  function step(state, i) {
    var p = state.procs[i];
    var program = PROGRAMS[state.settings.mode];
    if (p.finished) {
      addLog(state, i, "", "has finished its " + state.settings.increments + " increments", "", "info");
      return false;
    }
    if (p.blocked) {
      addLog(state, i, "P", "is blocked in semop: it sleeps until the holder does V", "", "info");
      return false;
    }
    state.procs.forEach(function (q) {
      q.mark = null;
    });
    var op = program[p.pc];
    var completed = false;
    state.steps += 1;
    if (op === "P") {
      if (state.sem > 0) {
        state.sem -= 1;
        state.holder = i;
        addLog(state, i, "P", "P: semop -1 takes the semaphore (1 → 0)", "it may enter the critical section");
      } else {
        p.blocked = true;
        addLog(state, i, "P", "P: semop -1 blocks: the semaphore is 0",
          state.procs[state.holder].name + " holds it", "blocked");
        return true;
      }
    } else if (op === "load") {
      p.seen = state.counter;
      p.sum = null;
      addLog(state, i, "load", "load  counter = " + p.seen);
    } else if (op === "add") {
      p.sum = p.seen + 1;
      addLog(state, i, "add", "add   " + p.seen + " + 1 = " + p.sum, "in its own register: the counter still holds " + state.counter);
    } else if (op === "store") {
      var before = state.counter;
      state.counter = p.sum;
      state.expected += 1;
      completed = true;
      var overwritten = before - p.seen;
      if (overwritten > 0) {
        state.lostEvents += 1;
        p.mark = "lost";
        addLog(state, i, "store", "store counter = " + p.sum,
          "LOST UPDATE: the counter was already " + before +
          (overwritten > 1 ? " (" + overwritten + " updates overwritten)" : ""), "lost");
      } else if (overwritten < 0) {
        addLog(state, i, "store", "store counter = " + p.sum,
          "the counter held " + before + ", an older value: this store brings back " + -overwritten + " update" + (overwritten < -1 ? "s" : ""), "");
      } else {
        addLog(state, i, "store", "store counter = " + p.sum);
      }
    } else if (op === "V") {
      state.sem += 1;
      state.holder = null;
      var woken = [];
      state.procs.forEach(function (q) {
        if (q.blocked) {
          q.blocked = false;
          woken.push(q.name);
        }
      });
      addLog(state, i, "V", "V: semop +1 gives the semaphore back (0 → 1)",
        woken.length ? "the kernel wakes " + woken.join(" and ") : "");
    } else if (op === "fetch_add") {
      var old = state.counter;
      state.counter = old + 1;
      state.expected += 1;
      completed = true;
      addLog(state, i, "fetch_add", "fetch_add(1) = " + old + ", counter = " + state.counter, "load, add and store in one indivisible step");
    }
    if (completed) p.done += 1;
    p.pc = (p.pc + 1) % program.length;
    if (p.pc === 0 && p.done >= state.settings.increments) {
      p.finished = true;
    }
    return true;
  }

  // One step of a process picked by the seeded scheduler.
  function randomStep(state) {
    var choices = runnable(state);
    if (!choices.length) return false;
    var pick = choices[Math.floor(nextRandom(state) * choices.length)];
    return step(state, pick);
  }

  // ---- replaying a trace --------------------------------------------------------------------

  // The load/add/store events of a `--trace` file (JSON lines), in time order.
  function parseTrace(text) {
    var events = [];
    var calls = 0;
    text.split(/\r?\n/).forEach(function (line, n) {
      line = line.trim();
      if (!line) return;
      var record;
      try {
        record = JSON.parse(line);
      } catch (e) {
        throw new Error("line " + (n + 1) + " is not JSON: " + line.slice(0, 60));
      }
      if (record.kind === "call") calls += 1;
      if (record.kind !== "event") return;
      if (["load", "add", "store"].indexOf(record.event) < 0) return;
      var value = Number(record.value);
      if (!isFinite(value)) return;
      events.push({
        op: record.event,
        role: String(record.role || "process"),
        pid: record.pid,
        value: value,
        t: Number(record.t_ns) || 0,
        seq: Number(record.seq) || 0,
        line: n,
      });
    });
    events.sort(function (a, b) {
      return a.t - b.t || a.line - b.line;
    });
    var roles = [];
    events.forEach(function (e) {
      if (roles.indexOf(e.role) < 0) roles.push(e.role);
    });
    roles.sort(function (a, b) {
      return a.localeCompare(b, undefined, { numeric: true });
    });
    return { events: events, roles: roles, calls: calls };
  }

  function replayState(trace, upto) {
    var state = newState({ processes: trace.roles.length, increments: 0, mode: "none", seed: 0 });
    state.procs.forEach(function (p, i) {
      p.name = trace.roles[i];
      p.pid = null;
    });
    for (var k = 0; k < upto; k++) {
      var e = trace.events[k];
      var i = trace.roles.indexOf(e.role);
      var p = state.procs[i];
      p.pid = e.pid;
      state.procs.forEach(function (q) {
        q.mark = null;
      });
      state.steps += 1;
      if (e.op === "load") {
        p.seen = e.value;
        p.sum = null;
        p.pc = 1;
        state.counter = e.value;
        addLog(state, i, "load", "load  counter = " + e.value);
      } else if (e.op === "add") {
        p.sum = e.value;
        p.pc = 2;
        addLog(state, i, "add", "add   " + (p.seen === null ? "?" : p.seen) + " + 1 = " + e.value);
      } else {
        var before = state.counter;
        state.counter = e.value;
        state.expected += 1;
        p.done += 1;
        p.pc = 0;
        var seen = p.seen === null ? e.value - 1 : p.seen;
        if (before - seen > 0) {
          state.lostEvents += 1;
          p.mark = "lost";
          addLog(state, i, "store", "store counter = " + e.value, "LOST UPDATE: the counter was already " + before, "lost");
        } else {
          addLog(state, i, "store", "store counter = " + e.value);
        }
      }
    }
    if (upto >= trace.events.length) {
      state.procs.forEach(function (p) {
        p.finished = true;
      });
    }
    return state;
  }

  // ---- the view -----------------------------------------------------------------------------

  function Visualizer(root) {
    this.root = root;
    this.settings = {
      processes: Number(root.getAttribute("data-processes")) || 2,
      increments: Number(root.getAttribute("data-increments")) || 3,
      mode: "none",
      seed: Number(root.getAttribute("data-seed")) || 7,
    };
    this.history = [];
    this.timer = null;
    this.trace = null;
    this.replayAt = 0;
    this.build();
    this.reset();
  }

  Visualizer.prototype.build = function () {
    var self = this;
    this.id = Visualizer.count;
    var root = this.root;
    root.textContent = "";
    root.setAttribute("tabindex", "0");
    root.setAttribute("role", "application");
    root.setAttribute("aria-label", "Race visualizer: keys 1, 2 and 3 step a worker, N a random step, Space plays, E runs to the end, U undoes, R resets, M changes the protection");

    var controls = el("div", { class: "rv-controls" });

    var mode = el("fieldset", { class: "rv-mode" });
    mode.appendChild(el("legend", {}, "Protection (M):"));
    ["none", "semaphore", "atomic"].forEach(function (m) {
      var label = el("label", {});
      var input = el("input", { type: "radio", name: "rv-mode-" + self.id, value: m, "data-mode": m });
      if (m === "none") input.checked = true;
      input.addEventListener("change", function () {
        self.setMode(m);
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + { none: "none", semaphore: "semaphore (P, V)", atomic: "atomic fetch_add" }[m]));
      mode.appendChild(label);
    });
    controls.appendChild(mode);

    var setup = el("div", { class: "rv-setup" });
    var procLabel = el("label", {}, "Workers ");
    this.procSelect = el("select", { "data-control": "processes" });
    [2, 3].forEach(function (n) {
      var o = el("option", { value: String(n) }, String(n));
      if (n === self.settings.processes) o.selected = true;
      self.procSelect.appendChild(o);
    });
    this.procSelect.addEventListener("change", function () {
      self.settings.processes = Number(self.procSelect.value);
      self.leaveReplay();
      self.reset();
    });
    procLabel.appendChild(this.procSelect);
    setup.appendChild(procLabel);

    var incLabel = el("label", {}, "Increments ");
    this.incInput = el("input", { type: "number", min: "1", max: "9", value: String(this.settings.increments), "data-control": "increments" });
    this.incInput.addEventListener("change", function () {
      var n = Math.max(1, Math.min(9, Math.floor(Number(self.incInput.value)) || 1));
      self.incInput.value = String(n);
      self.settings.increments = n;
      self.leaveReplay();
      self.reset();
    });
    incLabel.appendChild(this.incInput);
    setup.appendChild(incLabel);

    var seedLabel = el("label", {}, "Seed ");
    this.seedInput = el("input", { type: "number", min: "0", value: String(this.settings.seed), "data-control": "seed" });
    this.seedInput.addEventListener("change", function () {
      self.settings.seed = Math.max(0, Math.floor(Number(self.seedInput.value)) || 0);
      self.seedInput.value = String(self.settings.seed);
      self.leaveReplay();
      self.reset();
    });
    seedLabel.appendChild(this.seedInput);
    setup.appendChild(seedLabel);

    var speedLabel = el("label", {}, "Speed ");
    this.speedSelect = el("select", { "data-control": "speed" });
    [["slow", 1400], ["normal", 700], ["fast", 250]].forEach(function (s) {
      var o = el("option", { value: String(s[1]) }, s[0]);
      if (s[0] === "normal") o.selected = true;
      self.speedSelect.appendChild(o);
    });
    speedLabel.appendChild(this.speedSelect);
    setup.appendChild(speedLabel);
    controls.appendChild(setup);

    var buttons = el("div", { class: "rv-buttons" });
    this.stepButtons = [];
    for (var i = 0; i < 3; i++) {
      (function (i) {
        var b = el("button", { type: "button", "data-action": "step-" + (i + 1), title: "Step worker " + (i + 1) + " (key " + (i + 1) + ")" },
          "Step " + (i + 1));
        b.addEventListener("click", function () {
          self.stepProcess(i);
        });
        self.stepButtons.push(b);
        buttons.appendChild(b);
      })(i);
    }
    function button(action, text, handler) {
      var b = el("button", { type: "button", "data-action": action }, text);
      b.addEventListener("click", handler);
      buttons.appendChild(b);
      return b;
    }
    this.randomButton = button("random", "Random (N)", function () {
      self.randomStep();
    });
    this.playButton = button("play", "Play (Space)", function () {
      self.togglePlay();
    });
    this.endButton = button("end", "To the end (E)", function () {
      self.runToEnd();
    });
    this.undoButton = button("undo", "Undo (U)", function () {
      self.undo();
    });
    button("reset", "Reset (R)", function () {
      self.reset();
    });
    controls.appendChild(buttons);

    var replay = el("div", { class: "rv-replay" });
    var fileLabel = el("label", {}, "Replay a run recorded by lesson04 --trace FILE: ");
    this.fileInput = el("input", { type: "file", accept: ".jsonl,.json,.txt,application/json", "data-control": "trace-file" });
    this.fileInput.addEventListener("change", function () {
      var file = self.fileInput.files && self.fileInput.files[0];
      if (!file) return;
      var reader = new FileReader();
      reader.onload = function () {
        self.loadTrace(String(reader.result), file.name);
      };
      reader.onerror = function () {
        self.say("Could not read " + file.name + ".");
      };
      reader.readAsText(file);
    });
    fileLabel.appendChild(this.fileInput);
    replay.appendChild(fileLabel);
    var sample = window.RACE_VISUALIZER_SAMPLE;
    if (sample && sample.text) {
      var sampleButton = el("button", { type: "button", "data-action": "replay-sample" }, "Replay a recorded run (" + sample.name + ")");
      sampleButton.addEventListener("click", function () {
        self.loadTrace(sample.text, sample.name);
      });
      replay.appendChild(document.createTextNode(" "));
      replay.appendChild(sampleButton);
    }
    this.leaveButton = el("button", { type: "button", "data-action": "leave-replay", hidden: "" }, "Back to the simulation");
    this.leaveButton.addEventListener("click", function () {
      self.leaveReplay();
      self.reset();
    });
    replay.appendChild(this.leaveButton);
    // Shown at the top, in place of the settings, while a run is replayed.
    this.replayInfo = el("p", { class: "rv-replay-info", "data-role": "replay-info" });
    controls.insertBefore(this.replayInfo, controls.firstChild);
    this.replayRow = replay;

    root.appendChild(controls);


    // The figures stand in the picture's top left corner, beside the counter they sum up.
    var stage = el("div", { class: "rv-stage" });
    this.score = el("div", { class: "rv-score", "aria-live": "polite" });
    stage.appendChild(this.score);
    this.picture = svg("svg", { class: "rv-picture", role: "img", "aria-label": "The shared counter and the processes" });
    stage.appendChild(this.picture);
    root.appendChild(stage);

    this.status = el("p", { class: "rv-status", "aria-live": "polite", "data-role": "status" });
    root.appendChild(this.status);

    // The timeline and the log, side by side, each in a panel of fixed height that scrolls and
    // keeps its newest line in view.
    var panels = el("div", { class: "rv-panels" });
    var timelinePanel = el("div", { class: "rv-panel rv-timeline-panel" });
    this.timelineTitle = el("p", { class: "rv-panel-title" }, "Timeline");
    timelinePanel.appendChild(this.timelineTitle);
    this.timeline = el("ol", { class: "rv-timeline", "data-role": "timeline" });
    timelinePanel.appendChild(this.timeline);
    panels.appendChild(timelinePanel);
    var logPanel = el("div", { class: "rv-panel rv-log-panel" });
    logPanel.appendChild(el("p", { class: "rv-panel-title" }, "What happened, in lesson04's words (newest last)"));
    this.logList = el("ol", { class: "rv-log", "data-role": "log" });
    logPanel.appendChild(this.logList);
    panels.appendChild(logPanel);
    root.appendChild(panels);
    root.appendChild(this.replayRow);

    root.addEventListener("keydown", function (event) {
      self.key(event);
    });
    Visualizer.count += 1;
  };
  Visualizer.count = 0;

  Visualizer.prototype.key = function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" && target.type !== "radio" || target.tagName === "SELECT");
    if (typing) return;
    var k = event.key;
    // Space and Enter on a focused button press that button.
    if (target && target.tagName === "BUTTON" && (k === " " || k === "Enter")) return;
    var handled = true;
    if (k === "1" || k === "2" || k === "3") this.stepProcess(Number(k) - 1);
    else if (k === "n" || k === "N") this.randomStep();
    else if (k === " " || k === "p" || k === "P") this.togglePlay();
    else if (k === "e" || k === "E") this.runToEnd();
    else if (k === "u" || k === "U" || k === "Backspace") this.undo();
    else if (k === "r" || k === "R") this.reset();
    else if (k === "m" || k === "M") this.cycleMode();
    else handled = false;
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  Visualizer.prototype.setMode = function (mode) {
    this.settings.mode = mode;
    var radios = this.root.querySelectorAll("input[data-mode]");
    for (var i = 0; i < radios.length; i++) radios[i].checked = radios[i].value === mode;
    this.leaveReplay();
    this.reset();
  };

  Visualizer.prototype.cycleMode = function () {
    var order = ["none", "semaphore", "atomic"];
    this.setMode(order[(order.indexOf(this.settings.mode) + 1) % order.length]);
  };

  Visualizer.prototype.reset = function () {
    this.stop();
    this.history = [];
    if (this.trace) {
      this.replayAt = 0;
      this.state = replayState(this.trace, 0);
    } else {
      this.state = newState({
        processes: this.settings.processes,
        increments: this.settings.increments,
        mode: this.settings.mode,
        seed: this.settings.seed,
      });
    }
    this.render("Ready: " + this.describeSetup());
  };

  Visualizer.prototype.describeSetup = function () {
    if (this.trace) return "replaying " + this.trace.events.length + " events; press N or Space.";
    return this.settings.processes + " workers, " + this.settings.increments + " increments each, " +
      MODE_TEXT[this.settings.mode] + ". Step a worker with 1, 2" + (this.settings.processes > 2 ? ", 3" : "") +
      ", or let seed " + this.settings.seed + " choose (N, Space).";
  };

  Visualizer.prototype.remember = function () {
    this.history.push(this.trace ? this.replayAt : clone(this.state));
    if (this.history.length > 1000) this.history.shift();
  };

  Visualizer.prototype.stepProcess = function (i) {
    if (this.trace) {
      this.say("Replaying a recorded run: the order is the run's. Use N or Space.");
      return;
    }
    if (i >= this.state.procs.length) return;
    this.remember();
    var before = this.state.log.length;
    step(this.state, i);
    this.render();
    if (this.state.log.length === before) this.history.pop();
  };

  Visualizer.prototype.randomStep = function () {
    if (this.trace) {
      if (this.replayAt >= this.trace.events.length) {
        this.stop();
        return false;
      }
      this.remember();
      this.replayAt += 1;
      this.state = replayState(this.trace, this.replayAt);
      this.render();
      return true;
    }
    if (allFinished(this.state)) {
      this.stop();
      this.render();
      return false;
    }
    this.remember();
    randomStep(this.state);
    this.render();
    return true;
  };

  Visualizer.prototype.finished = function () {
    return this.trace ? this.replayAt >= this.trace.events.length : allFinished(this.state);
  };

  Visualizer.prototype.runToEnd = function () {
    this.stop();
    var guard = 0;
    while (!this.finished() && guard++ < 100000) {
      if (this.trace) {
        this.replayAt += 1;
      } else {
        randomStep(this.state);
      }
    }
    if (this.trace) this.state = replayState(this.trace, this.replayAt);
    this.render();
  };

  Visualizer.prototype.undo = function () {
    this.stop();
    if (!this.history.length) {
      this.say("Nothing to undo.");
      return;
    }
    var previous = this.history.pop();
    if (this.trace) {
      this.replayAt = previous;
      this.state = replayState(this.trace, previous);
    } else {
      this.state = previous;
    }
    this.render("Undone: back to step " + this.state.steps + ".");
  };

  Visualizer.prototype.togglePlay = function () {
    if (this.timer) {
      this.stop();
      this.render("Paused.");
      return;
    }
    if (this.finished()) this.reset();
    var self = this;
    this.playButton.textContent = "Pause (Space)";
    this.playButton.setAttribute("aria-pressed", "true");
    this.timer = window.setInterval(function () {
      if (!self.randomStep()) self.stop();
    }, Number(this.speedSelect.value) || 700);
  };

  Visualizer.prototype.stop = function () {
    if (this.timer) {
      window.clearInterval(this.timer);
      this.timer = null;
    }
    if (this.playButton) {
      this.playButton.textContent = "Play (Space)";
      this.playButton.setAttribute("aria-pressed", "false");
    }
  };

  Visualizer.prototype.loadTrace = function (text, name) {
    var trace;
    try {
      trace = parseTrace(text);
    } catch (e) {
      this.say("Not a trace file: " + e.message);
      return;
    }
    if (!trace.events.length) {
      this.say(name + " holds " + trace.calls + " calls but no load, add or store events: record one with `cargo run --bin lesson04 -- --trace " + name + "`.");
      return;
    }
    this.stop();
    this.trace = trace;
    this.traceName = name;
    this.root.setAttribute("data-replay", "true");
    this.leaveButton.hidden = false;
    this.replayInfo.textContent = "Replaying " + name + ": " + trace.events.length + " events of " +
      trace.roles.length + " processes (" + trace.roles.join(", ") + "), in the order of their clocks.";
    this.reset();
  };

  Visualizer.prototype.leaveReplay = function () {
    if (!this.trace) return;
    this.trace = null;
    this.root.removeAttribute("data-replay");
    this.leaveButton.hidden = true;
    this.replayInfo.textContent = "";
    this.fileInput.value = "";
  };

  Visualizer.prototype.say = function (text) {
    this.status.textContent = text;
  };

  Visualizer.prototype.render = function (message) {
    var state = this.state;
    var lost = state.expected - state.counter;
    var done = this.finished();
    this.root.setAttribute("data-expected", String(state.expected));
    this.root.setAttribute("data-counted", String(state.counter));
    this.root.setAttribute("data-lost", String(lost));
    this.root.setAttribute("data-steps", String(state.steps));
    this.root.setAttribute("data-finished", done ? "true" : "false");
    this.root.setAttribute("data-mode", this.trace ? "replay" : this.settings.mode);

    // The score, as lesson04 reports it.
    this.score.textContent = "";
    [["expected", state.expected, ""], ["counted", state.counter, ""], ["lost updates", lost, lost > 0 ? "rv-bad" : "rv-good"]].forEach(function (item) {
      var box = el("div", { class: "rv-figure " + item[2] });
      box.appendChild(el("span", { class: "rv-figure-value", "data-figure": item[0] }, String(item[1])));
      box.appendChild(el("span", { class: "rv-figure-label" }, item[0]));
      this.score.appendChild(box);
    }, this);

    for (var i = 0; i < this.stepButtons.length; i++) {
      var b = this.stepButtons[i];
      b.hidden = i >= state.procs.length || !!this.trace;
      b.disabled = !this.trace && i < state.procs.length && state.procs[i].finished;
    }
    this.randomButton.textContent = this.trace ? "Next event (N)" : "Random (N)";
    this.undoButton.disabled = !this.history.length;

    this.draw();
    this.drawTimeline();

    // The log.
    this.logList.textContent = "";
    var self = this;
    // Numbered as the timeline's steps; a line that is no step (a finished worker asked to
    // step) has no number.
    var stepNumber = 0;
    state.log.forEach(function (entry) {
      var item = el("li", { class: "rv-entry " + (entry.kind ? "rv-" + entry.kind : "") });
      if (entry.kind !== "info") item.value = ++stepNumber;
      var p = state.procs[entry.who];
      item.appendChild(el("span", { class: "rv-who rv-w" + (entry.who % 6) }, "[" + p.name + (p.pid ? " " + p.pid : "") + "]"));
      item.appendChild(document.createTextNode(" " + entry.text));
      if (entry.note) {
        item.appendChild(el("span", { class: "rv-note" }, "   (" + entry.note + ")"));
      }
      self.logList.appendChild(item);
    });
    if (done && state.steps > 0) {
      var summary = el("li", { class: "rv-entry rv-summary" },
        "load, then store: expected " + state.expected + ", counted " + state.counter + ", lost updates " + lost);
      this.logList.appendChild(summary);
    }
    this.logList.scrollTop = this.logList.scrollHeight;

    var last = state.log[state.log.length - 1];
    if (message) {
      this.say(message);
    } else if (done) {
      this.say("Finished: expected " + state.expected + ", counted " + state.counter + ", lost updates " + lost +
        (this.trace ? "." : " (" + MODE_TEXT[this.settings.mode] + ")."));
    } else if (last) {
      this.say(state.procs[last.who].name + ": " + last.text + (last.note ? " (" + last.note + ")" : ""));
    }
  };

  // The picture: the shared segment on top, one lane per process below.
  Visualizer.prototype.draw = function () {
    var state = this.state;
    var g = this.picture;
    var n = state.procs.length;
    var width = 760;
    var mode = this.trace ? "none" : this.settings.mode;
    var program = PROGRAMS[mode];
    var compact = n > 3;
    var laneTop = 136;
    var row = compact ? 24 : 27;
    // Room at the bottom of a lane for its LOST UPDATE badge, where an update can be lost.
    var badge = mode === "none" ? 36 : 8;
    var laneHeight = 84 + program.length * row + badge;
    var height = laneTop + laneHeight + 6;
    g.textContent = "";
    g.setAttribute("viewBox", "0 0 " + width + " " + height);

    // The segment.
    var segX = 230;
    g.appendChild(svg("rect", { x: segX, y: 4, width: 300, height: 92, rx: 10, class: "rv-segment" }));
    g.appendChild(svg("text", { x: segX + 150, y: 28, class: "rv-small", "text-anchor": "middle" }, "shared segment: counter"));
    g.appendChild(svg("text", { x: segX + 150, y: 84, class: "rv-counter", "text-anchor": "middle", "data-role": "counter" }, String(state.counter)));
    if (mode === "semaphore") {
      g.appendChild(svg("rect", { x: 550, y: 4, width: 200, height: 92, rx: 10, class: "rv-semaphore" }));
      g.appendChild(svg("text", { x: 650, y: 28, class: "rv-small", "text-anchor": "middle" }, "semaphore"));
      g.appendChild(svg("text", { x: 650, y: 64, class: "rv-big", "text-anchor": "middle" }, String(state.sem)));
      g.appendChild(svg("text", { x: 650, y: 88, class: "rv-small", "text-anchor": "middle" },
        state.holder === null ? "free" : "held by " + state.procs[state.holder].name));
    }

    var laneWidth = (width - 20) / n;
    var last = state.log[state.log.length - 1];
    state.procs.forEach(function (p, i) {
      var x = 10 + i * laneWidth;
      var cx = x + laneWidth / 2;
      var cls = "rv-lane rv-w" + (i % 6) + (p.blocked ? " rv-blocked" : "") + (p.finished ? " rv-finished" : "");
      var lane = svg("g", { class: cls, "data-worker": String(i + 1) });
      lane.appendChild(svg("rect", { x: x + 6, y: laneTop, width: laneWidth - 12, height: laneHeight, rx: 10, class: "rv-lane-box" }));
      lane.appendChild(svg("text", { x: cx, y: laneTop + 26, "text-anchor": "middle", class: "rv-lane-name" },
        p.name + " (" + p.done + (this.trace ? "" : "/" + state.settings.increments) + ")"));
      var stateText = p.finished ? "finished" : p.blocked ? "BLOCKED in semop" : state.holder === i ? "in critical section" : "ready";
      lane.appendChild(svg("text", { x: cx, y: laneTop + 49, "text-anchor": "middle", class: "rv-lane-state" }, stateText));
      var reg = mode === "atomic" ? "no register: one instruction" : p.seen === null ? "seen: –" : "seen: " + p.seen + (p.sum !== null ? "  →  " + p.sum : "");
      lane.appendChild(svg("text", { x: cx, y: laneTop + 74, "text-anchor": "middle", class: "rv-register" + (mode === "atomic" ? " rv-small" : "") }, reg));
      program.forEach(function (op, k) {
        var y = laneTop + 84 + k * row;
        var current = !p.finished && p.pc === k;
        if (current) {
          lane.appendChild(svg("rect", { x: x + 14, y: y, width: laneWidth - 28, height: row - 4, rx: 6, class: "rv-current" }));
        }
        var label = compact || laneWidth < 300 ? op : PROGRAM_TEXT[op];
        lane.appendChild(svg("text", { x: x + 24, y: y + row * 0.68, class: "rv-op" + (current ? " rv-op-current" : "") },
          (current ? "▶ " : "   ") + label));
      });
      if (p.mark === "lost") {
        lane.appendChild(svg("rect", { x: x + 14, y: laneTop + laneHeight - 34, width: laneWidth - 28, height: 28, rx: 6, class: "rv-lost-badge" }));
        lane.appendChild(svg("text", { x: cx, y: laneTop + laneHeight - 14, "text-anchor": "middle", class: "rv-lost-text" }, "LOST UPDATE"));
      }
      g.appendChild(lane);

      // The arrow of the last load or store, between the segment and the lane.
      if (last && last.who === i && (last.op === "load" || last.op === "store" || last.op === "fetch_add")) {
        var sx = segX + 150, sy = 96, ly = laneTop - 2;
        var arrow = svg("line", {
          x1: last.op === "load" ? sx : cx, y1: last.op === "load" ? sy : ly,
          x2: last.op === "load" ? cx : sx, y2: last.op === "load" ? ly : sy,
          class: "rv-arrow" + (last.kind === "lost" ? " rv-arrow-lost" : ""),
          "marker-end": "url(#rv-head-" + this.id + ")",
        });
        g.appendChild(arrow);
        g.appendChild(svg("text", { x: cx + (cx <= sx ? -12 : 12), y: laneTop - 12, "text-anchor": cx <= sx ? "end" : "start", class: "rv-arrow-label" + (last.kind === "lost" ? " rv-bad-text" : "") },
          last.op === "load" ? "load " + p.seen : last.op === "store" ? "store " + p.sum : "fetch_add"));
      }
    }, this);

    var defs = svg("defs");
    var marker = svg("marker", { id: "rv-head-" + this.id, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "8", markerHeight: "8", orient: "auto-start-reverse" });
    marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "rv-arrow-head" }));
    defs.appendChild(marker);
    g.insertBefore(defs, g.firstChild);
  };

  // The timeline: one row per step, one column per worker, the counter after the step. A lost
  // update is marked in red in the row where it happened.
  Visualizer.prototype.drawTimeline = function () {
    var state = this.state;
    var n = state.procs.length;
    var mode = this.trace ? "none" : this.settings.mode;
    var list = this.timeline;
    list.textContent = "";
    list.style.setProperty("--rv-n", String(n));
    var head = el("li", { class: "rv-tl-row rv-tl-head" });
    head.appendChild(el("span", { class: "rv-tl-n" }, "#"));
    state.procs.forEach(function (p, i) {
      head.appendChild(el("span", { class: "rv-tl-cell rv-w" + (i % 6) }, "w" + (i + 1)));
    });
    head.appendChild(el("span", { class: "rv-tl-value" }, "counter"));
    list.appendChild(head);
    var k = 0;
    state.log.forEach(function (entry) {
      if (entry.kind === "info") return;
      k += 1;
      var item = el("li", { class: "rv-tl-row", "data-step": String(k) });
      item.appendChild(el("span", { class: "rv-tl-n" }, String(k)));
      for (var i = 0; i < n; i++) {
        var text = "";
        var cls = "rv-tl-cell";
        if (i === entry.who) {
          cls += " rv-tl rv-w" + (i % 6);
          text = entry.op;
          if (entry.kind === "lost") {
            cls += " rv-tl-lost";
            text += " ✗";
          } else if (entry.kind === "blocked") {
            cls += " rv-tl-blocked";
            text += " waits";
          }
        }
        item.appendChild(el("span", { class: cls }, text));
      }
      item.appendChild(el("span", { class: "rv-tl-value" }, String(entry.counter)));
      list.appendChild(item);
    });
    this.timelineTitle.textContent = k ? "Timeline" + (mode === "none" ? " (✗ lost update)" : "") : "Timeline: no step yet";
    list.scrollTop = list.scrollHeight;
  };

  function start() {
    var roots = document.querySelectorAll(".race-visualizer");
    for (var i = 0; i < roots.length; i++) {
      if (!roots[i].raceVisualizer) roots[i].raceVisualizer = new Visualizer(roots[i]);
    }
  }

  // For tests and for the curious: the model without the page.
  window.raceVisualizer = { parseTrace: parseTrace, newState: newState, step: step, randomStep: randomStep, start: start };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
