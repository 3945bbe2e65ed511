// Work days as the reports API computes them, shown alike wherever they appear: the daily report and the
// timesheet on the Reports page, an employee's recent days and timesheet on their own page.
import { employeeCell, h, zone } from "./core.js";

/** Whole minutes in hours and minutes: "0", "25 min", "3 h 02 min". */
export function duration(total) {
  if (!total) return "0";
  const hours = Math.floor(total / 60);
  const rest = total % 60;
  return hours ? `${hours} h ${String(rest).padStart(2, "0")} min` : `${rest} min`;
}

/** The API's local time (ISO, no offset, already in the row's zone): the time, and the date too when it
 * is not the work day's (a night shift). */
function localTime(value, day) {
  if (!value) return "–";
  const [date, time] = value.split("T");
  const clock = (time || "").slice(0, 5);
  return h("time", { datetime: value }, date === day ? clock : `${date} ${clock}`);
}

/** "09:00-17:00 Europe/Berlin", which may wrap before the zone but never inside the hours. */
function schedule(label) {
  if (!label) return "–";
  const [hours, ...zone] = label.split(" ");
  return h("span", {}, h("span", { class: "nowrap" }, hours), zone.length ? ` ${zone.join(" ")}` : "");
}

function anomalies(list) {
  if (!list?.length) return "–";
  return h("ul", { class: "anomalies" }, list.map((name) => h("li", { class: "anomaly" }, name.replaceAll("_", " "))));
}

/** Under a day's punch count, how many of its punches an admin added by hand (a missed punch, a corrected
 * one), for whoever checks the hours; null for a day of the clocks' own punches. */
export function byHand(row) {
  return row.addedByHand ? [" ", h("span", { class: "muted small by-hand" }, `${row.addedByHand} by hand`)] : null;
}

/** A work-day table's columns: the date for a timesheet, the employee for a day's report, the zone when a
 * row's is not the company's; `only`, when given, names the columns to keep (a shorter summary). */
export function workDayColumns(rows, { date = false, user = false, only = null } = {}) {
  const list = [];
  if (date) list.push({ label: "Date", cell: (row) => row.date });
  if (user) list.push({ label: "Employee", cell: (row) => employeeCell(row.userId, row.name) });
  list.push(
    { label: "First in", cell: (row) => localTime(row.firstIn, row.date) },
    { label: "Last out", cell: (row) => localTime(row.lastOut, row.date) },
    { label: "Worked", cell: (row) => duration(row.workedMinutes) },
    { label: "Break", cell: (row) => duration(row.breakMinutes) },
    { label: "Overtime", cell: (row) => duration(row.overtimeMinutes) },
    { label: "Late", cell: (row) => duration(row.lateMinutes) },
    { label: "Left early", cell: (row) => duration(row.earlyLeaveMinutes) },
    { label: "Punches", cell: (row) => h("span", {}, String(row.punches), byHand(row)) },
    { label: "Schedule", cell: (row) => schedule(row.schedule) },
    { label: "Anomalies", cell: (row) => anomalies(row.anomalies) },
  );
  if (rows.some((row) => row.timeZone && row.timeZone !== zone)) list.push({ label: "Zone", cell: (row) => row.timeZone });
  return only ? list.filter((column) => only.includes(column.label)) : list;
}
