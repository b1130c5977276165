// The customers of a record read at a glance (pages/record_panes.py): a title and a table of the
// 21 fields, two a row, for each. Built with text nodes only, so no name or value is ever
// parsed as markup; rebuilt only when something shown changed.
function table(cells) {
  const body = document.createElement("table");
  body.className = "roleext-customer";
  for (let start = 0; start < cells.length; start += 2) {
    const row = document.createElement("tr");
    for (const [name, value] of cells.slice(start, start + 2)) {
      const head = document.createElement("th");
      head.textContent = name;
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(head, cell);
    }
    body.append(row);
  }
  return body;
}

export default function ({ parentElement, data }) {
  const pane = parentElement.querySelector(".roleext-customers");
  const shown = JSON.stringify(data);
  if (pane.dataset.shown === shown) {
    return;
  }
  const parts = [];
  for (const customer of data.customers) {
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = customer.title;
    parts.push(title, table(customer.cells));
  }
  if (parts.length === 0) {
    const none = document.createElement("div");
    none.className = "none";
    none.textContent = data.none;
    parts.push(none);
  }
  pane.replaceChildren(...parts);
  pane.dataset.shown = shown;
}
