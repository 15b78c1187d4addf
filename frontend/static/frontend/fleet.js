// Polls the fleet snapshot and redraws the tables without reloading the page.
(function () {
  "use strict";
  const main = document.getElementById("fleet");
  const stamp = document.getElementById("updated");
  const dash = "—";

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? dash : String(text);
    if (className) td.className = className;
    return td;
  }

  function yesNo(value, yes, no) {
    return value === true ? yes : value === false ? no : dash;
  }

  function render(trucks) {
    const sections = trucks.map(function (truck) {
      const section = document.createElement("section");
      section.className = "truck";
      const title = document.createElement("h2");
      title.textContent = truck.vehicle;
      const table = document.createElement("table");
      table.innerHTML = "<thead><tr><th>Device</th><th>Kind</th><th>Status</th><th>Seq</th>" +
        "<th>Time</th><th>Temp °C</th><th>Door</th><th>Reefer</th>" +
        "<th>Rejected</th></tr></thead>";
      const body = document.createElement("tbody");
      truck.devices.forEach(function (device) {
        const latest = device.latest || {};
        const row = document.createElement("tr");
        row.dataset.device = device.id;
        if (device.status === "revoked") row.className = "revoked";
        [cell(device.id), cell(device.kind), cell(device.status), cell(latest.seq),
         cell(latest.ts), cell(latest.temp_c, "temp"), cell(yesNo(latest.door_open, "open", "closed")),
         cell(yesNo(latest.reefer_on, "on", "off")), cell(device.rejections)]
          .forEach(function (td) { row.appendChild(td); });
        body.appendChild(row);
      });
      table.appendChild(body);
      section.append(title, table);
      return section;
    });
    if (sections.length) main.replaceChildren.apply(main, sections);
  }

  function poll() {
    fetch(main.dataset.liveUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        render(data.trucks);
        stamp.textContent = "updated " + new Date().toLocaleTimeString();
      })
      .catch(function (error) { stamp.textContent = "update failed: " + error.message; })
      .finally(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})();
