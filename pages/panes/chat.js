// The chat pane of Review (pages/record_panes.py): built from roleext.chatview's data with text
// nodes only, so no text of a chat is ever parsed as markup. Streamlit calls this on every run
// that draws the pane; the DOM is rebuilt only when what it shows changed (`shown`: another
// record, chat or set of gold values), and scrolled to the top only for another record.
export default function ({ parentElement, data }) {
  const pane = parentElement.querySelector(".roleext-chat");
  if (pane.dataset.shown === data.shown) {
    return;
  }
  const lines = document.createDocumentFragment();
  for (const line of data.lines) {
    const message = document.createElement("div");
    message.className = "msg";
    if (line.who !== null) {
      const who = document.createElement("span");
      who.className = "who";
      who.style.color = line.colour;
      who.textContent = line.who;
      message.append(who, "：");
    }
    for (const [kind, text] of line.parts) {
      if (kind === "text") {
        message.append(text);
      } else {
        const run = document.createElement(kind === "mark" ? "mark" : "span");
        run.className = kind;
        run.textContent = text;
        message.append(run);
      }
    }
    lines.append(message);
  }
  pane.replaceChildren(lines);
  pane.dataset.shown = data.shown;
  if (pane.dataset.record !== data.record) {
    pane.dataset.record = data.record;
    pane.scrollTop = 0; // the next record's chat opens at its top; an edit of this one keeps the place
  }
}
