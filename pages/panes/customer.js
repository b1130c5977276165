// A customer's 21 fields as one table, two fields a row (pages/record_panes.py): built with text
// nodes only, so a value is never parsed as markup; rebuilt only when a value changed.
export default function ({ parentElement, data }) {
  const table = parentElement.querySelector(".roleext-customer");
  const shown = JSON.stringify(data.cells);
  if (table.dataset.shown === shown) {
    return;
  }
  const rows = document.createDocumentFragment();
  for (let start = 0; start < data.cells.length; start += 2) {
    const row = document.createElement("tr");
    for (const [name, value] of data.cells.slice(start, start + 2)) {
      const head = document.createElement("th");
      head.textContent = name;
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(head, cell);
    }
    rows.append(row);
  }
  table.replaceChildren(rows);
  table.dataset.shown = shown;
}
