// What the book adds to mdBook's pages, for projecting and printing (see book/theme/workbook.css):
//
// - code and run transcripts wrap instead of scrolling sideways, and a wrapped line keeps its
//   indentation: it continues under the start of its own text (for a transcript line, under the
//   text after the `[role pid]` prefix);
// - in print (and in print.html), every instructor note is expanded;
// - print.html ends with an appendix that holds every quiz's questions with their answers and
//   explanations, taken from the quizzes the page already carries.
(function () {
  "use strict";

  var isPrintPage = /(^|\/)print\.html$/.test(window.location.pathname);

  // ---- code that wraps and keeps its indentation -------------------------------------------

  // Splits highlighted HTML into lines, closing the spans open at a line's end and opening them
  // again on the next line, so that each line can be a block of its own.
  function splitLines(html) {
    var lines = [];
    var open = [];
    var current = "";
    var token = /(<\/?[a-zA-Z][^>]*>)|([^<]+)/g;
    var match;
    while ((match = token.exec(html))) {
      if (match[1]) {
        var tag = match[1];
        if (tag.charAt(1) === "/") open.pop();
        else if (!/\/>$/.test(tag)) open.push(tag);
        current += tag;
        continue;
      }
      var parts = match[2].split("\n");
      for (var i = 0; i < parts.length; i++) {
        if (i > 0) {
          for (var k = 0; k < open.length; k++) current += "</span>";
          lines.push(current);
          current = open.join("");
        }
        current += parts[i];
      }
    }
    lines.push(current);
    // A block ends with a newline: no empty line after it.
    if (lines.length > 1 && lines[lines.length - 1].replace(/<[^>]*>/g, "") === "") lines.pop();
    return lines;
  }

  function decode(text) {
    return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
  }

  // Where a wrapped line continues: under the text after a transcript's `[role pid] ` prefix,
  // or two columns deeper than the line's own indentation.
  function hangOf(text) {
    var prefix = /^\[[^\]\n]{1,40}\] +/.exec(text);
    if (prefix) return Math.min(prefix[0].length, 24);
    var indent = /^[ \t]*/.exec(text)[0].replace(/\t/g, "    ").length;
    return Math.min(indent + 2, 40);
  }

  function wrapCode(code) {
    if (code.getAttribute("data-wrapped") === "true") return;
    var lines = splitLines(code.innerHTML);
    var out = [];
    for (var i = 0; i < lines.length; i++) {
      var text = decode(lines[i].replace(/<[^>]*>/g, ""));
      out.push('<span class="wb-line" style="--wb-hang:' + hangOf(text) + '">' + (lines[i] === "" ? "" : lines[i]) + "</span>");
    }
    code.innerHTML = out.join("\n");
    code.setAttribute("data-wrapped", "true");
    code.classList.add("wb-wrapped");
    // A line made only of hidden ("boring") text hides with it.
    var spans = code.querySelectorAll(".wb-line");
    for (var j = 0; j < spans.length; j++) {
      var line = spans[j];
      var boring = line.querySelectorAll(".boring");
      if (!boring.length) continue;
      var visible = line.textContent;
      for (var b = 0; b < boring.length; b++) visible = visible.replace(boring[b].textContent, "");
      if (!visible.trim()) line.classList.add("wb-boring-line");
    }
  }

  function wrapAllCode() {
    var blocks = document.querySelectorAll("main pre > code");
    for (var i = 0; i < blocks.length; i++) {
      // Editable playgrounds belong to their editor.
      if (blocks[i].classList.contains("editable")) continue;
      wrapCode(blocks[i]);
    }
  }

  // ---- instructor notes in print -------------------------------------------------------------

  function openAllDetails() {
    var notes = document.querySelectorAll("main details");
    for (var i = 0; i < notes.length; i++) {
      if (!notes[i].open) {
        notes[i].open = true;
        notes[i].setAttribute("data-opened-for-print", "true");
      }
    }
  }

  function closeDetailsOpenedForPrint() {
    if (isPrintPage) return;
    var notes = document.querySelectorAll('main details[data-opened-for-print="true"]');
    for (var i = 0; i < notes.length; i++) {
      notes[i].open = false;
      notes[i].removeAttribute("data-opened-for-print");
    }
  }

  // ---- the quiz appendix of print.html ------------------------------------------------------

  function escapeHtml(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  // The little markdown the quizzes use: paragraphs, fenced code, `code`, **bold**, *emphasis*.
  function markdown(text) {
    var html = "";
    // Fences split the text into prose, code, prose, ...; a text that starts with a fence has an
    // empty first part.
    var parts = ("\n" + String(text).trim() + "\n").split(/\n```[^\n]*\n/);
    if (parts.length < 2) parts = [String(text).trim()];
    for (var i = 0; i < parts.length; i++) {
      if (i % 2 === 1) {
        html += '<pre class="wb-answer-code"><code>' + escapeHtml(parts[i].replace(/\n$/, "")) + "</code></pre>";
        continue;
      }
      parts[i].split(/\n\s*\n/).forEach(function (paragraph) {
        if (!paragraph.trim()) return;
        html += "<p>" + inline(paragraph.trim()) + "</p>";
      });
    }
    return html;
  }

  function inline(text) {
    var pieces = text.split(/(`[^`]*`)/);
    return pieces.map(function (piece) {
      if (/^`[^`]*`$/.test(piece)) return "<code>" + escapeHtml(piece.slice(1, -1)) + "</code>";
      return escapeHtml(piece)
        .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
        .replace(/(^|[^*\w])\*([^*\n]+)\*(?=[^*\w]|$)/g, "$1<em>$2</em>");
    }).join("");
  }

  function quizData(placeholder) {
    try {
      var data = JSON.parse(placeholder.getAttribute("data-quiz-questions"));
      return data && data.questions ? data.questions : [];
    } catch (e) {
      return [];
    }
  }

  function chapterTitle(node) {
    // The nearest h1 before the quiz: the chapter it ends.
    var headings = document.querySelectorAll("main h1");
    var title = "";
    for (var i = 0; i < headings.length; i++) {
      if (headings[i].compareDocumentPosition(node) & Node.DOCUMENT_POSITION_FOLLOWING) {
        title = headings[i].textContent;
      }
    }
    return title || "Quiz";
  }

  function answerText(question) {
    var answer = question.answer || {};
    if (question.type === "MultipleChoice") {
      var list = Array.isArray(answer.answer) ? answer.answer : [answer.answer];
      return list;
    }
    return [answer.answer];
  }

  function buildAppendix() {
    var main = document.querySelector("main");
    if (!main || document.getElementById("quiz-answers")) return;
    var quizzes = main.querySelectorAll(".quiz-placeholder");
    if (!quizzes.length) return;
    var appendix = document.createElement("section");
    appendix.className = "wb-appendix";
    appendix.setAttribute("data-role", "quiz-appendix");
    var html = '<h1 id="quiz-answers">Appendix: every quiz, with its answers</h1>' +
      "<p>The questions of each chapter's quiz, in the order the book gives them, with the right " +
      "answer marked and the explanation the quiz shows after an answer. In the book the options " +
      "are shuffled; here the right one comes first.</p>";
    for (var q = 0; q < quizzes.length; q++) {
      var questions = quizData(quizzes[q]);
      var title = chapterTitle(quizzes[q]);
      var id = "quiz-answers-" + (q + 1);
      // Each quiz in the chapters points to its answers.
      var pointer = document.createElement("p");
      pointer.className = "wb-quiz-pointer";
      pointer.innerHTML = "Quiz: " + questions.length + " questions. Questions and answers: " +
        '<a href="#' + id + '">appendix, ' + escapeHtml(title) + "</a>.";
      quizzes[q].parentNode.insertBefore(pointer, quizzes[q]);

      html += '<h2 id="' + id + '">' + escapeHtml(title) + "</h2><ol class=\"wb-answers\">";
      questions.forEach(function (question) {
        html += '<li class="wb-question" data-question-id="' + escapeHtml(question.id || "") + '">';
        html += '<div class="wb-prompt">' + markdown(question.prompt && question.prompt.prompt || "") + "</div>";
        var right = answerText(question);
        if (question.type === "MultipleChoice") {
          html += '<ul class="wb-options">';
          right.forEach(function (a) {
            html += '<li class="wb-right"><span class="wb-mark">✓</span> ' + inline(String(a)) + "</li>";
          });
          ((question.prompt && question.prompt.distractors) || []).forEach(function (d) {
            html += '<li class="wb-wrong"><span class="wb-mark">✗</span> ' + inline(String(d)) + "</li>";
          });
          html += "</ul>";
        } else {
          var alternatives = (question.answer && question.answer.alternatives) || [];
          html += '<p class="wb-right"><span class="wb-mark">✓</span> Answer: ' + inline(String(right[0])) +
            (alternatives.length ? ' <span class="wb-also">(also accepted: ' + alternatives.map(function (a) {
              return inline(String(a));
            }).join("; ") + ")</span>" : "") + "</p>";
        }
        if (question.context) html += '<div class="wb-context">' + markdown(question.context) + "</div>";
        html += "</li>";
      });
      html += "</ol>";
    }
    appendix.innerHTML = html;
    main.appendChild(appendix);
  }

  // ---- start -----------------------------------------------------------------------------------

  function start() {
    wrapAllCode();
    if (isPrintPage) {
      document.documentElement.classList.add("wb-print-page");
      openAllDetails();
      buildAppendix();
    }
  }

  window.addEventListener("beforeprint", openAllDetails);
  window.addEventListener("afterprint", closeDetailsOpenedForPrint);
  window.workbook = { splitLines: splitLines, hangOf: hangOf, markdown: markdown };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
