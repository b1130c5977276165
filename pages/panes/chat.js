// The chat pane of Review (pages/record_panes.py): built from roleext.chatview's data with text
// nodes only, so no text of a chat is ever parsed as markup. Streamlit calls this on every run
// that draws the pane; the DOM is rebuilt only when what it shows changed (`shown`: another
// record, chat or set of gold values).
//
// Another record's chat opens at its top with its first messages only, more than the box
// holds; the rest follows while the browser is idle, so a long chat does not hold up the
// frame that shows the record. The same record's chat redrawn (a gold edit marks other
// values) is drawn whole at once and keeps its scroll position.
const FIRST = 60;
const CHUNK = 250;

// Text typed in a box reaches the server when the box is left (or on Ctrl+Enter): a reload or
// a closed tab before that loses it. Streamlit shows "Press ... to apply" under a box holding
// such text; while one shows, the browser asks before leaving the page. Once per page load,
// from the first Review run on (this module is loaded once).
// (Its element is there whenever a box is focused; the words, English in any language of the
// app, only while the box holds text not yet sent.)
window.addEventListener("beforeunload", (event) => {
  const unsent = [...document.querySelectorAll('[data-testid="InputInstructions"]')]
    .some((instructions) => instructions.textContent.includes("to apply"));
  if (unsent) {
    event.preventDefault();
    event.returnValue = "";
  }
});

function message(line) {
  const row = document.createElement("div");
  row.className = "msg";
  if (line.who !== null) {
    const who = document.createElement("span");
    who.className = "who";
    who.style.color = line.colour;
    who.textContent = line.who;
    row.append(who, "：");
  }
  for (const [kind, text] of line.parts) {
    if (kind === "text") {
      row.append(text);
    } else {
      const run = document.createElement(kind === "mark" ? "mark" : "span");
      run.className = kind;
      run.textContent = text;
      row.append(run);
    }
  }
  return row;
}

const later = window.requestIdleCallback
  ? (work) => window.requestIdleCallback(work, { timeout: 300 })
  : (work) => window.setTimeout(work, 0);

export default function ({ parentElement, data }) {
  const pane = parentElement.querySelector(".roleext-chat");
  pane.setAttribute("aria-label", data.label);
  if (pane.dataset.shown === data.shown && pane.dataset.record === data.record) {
    return;
  }
  pane.dataset.shown = data.shown;
  const drawing = {}; // a newer chat stops the rest of this one
  pane.roleextDrawing = drawing;
  const another = pane.dataset.record !== data.record;
  const first = another ? FIRST : data.lines.length;
  pane.replaceChildren(...data.lines.slice(0, first).map(message));
  if (another) {
    pane.dataset.record = data.record;
    pane.scrollTop = 0;
  }
  const more = (from) => {
    if (pane.roleextDrawing !== drawing || from >= data.lines.length) {
      return;
    }
    pane.append(...data.lines.slice(from, from + CHUNK).map(message));
    later(() => more(from + CHUNK));
  };
  later(() => more(first));
}
