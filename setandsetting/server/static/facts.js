// Start page: the session facts. The intention always; the concomitant medications (one
// yes/no per class) and "first treatment" when the profile's route asks for them (the
// esketamine REMS). Unanswered questions stay unanswered: the daemon refuses the start
// and says which, rather than the page assuming "no".
"use strict";

const FIRST = "first treatment session";

function yesNo(name) {
  const choose = (answer) => {
    for (const b of group.querySelectorAll("button")) {
      b.setAttribute("aria-pressed", String(b.dataset.answer === answer));
    }
    group.dataset.answer = answer;
  };
  const group = el("div", { class: "yes-no", role: "group", "aria-label": name, "data-name": name },
    el("span", { class: "question", text: name }),
    el("button", { class: "small", "data-answer": "no", "aria-pressed": "false", text: "No",
      onclick: () => choose("no") }),
    el("button", { class: "small", "data-answer": "yes", "aria-pressed": "false", text: "Yes",
      onclick: () => choose("yes") }));
  return group;
}

function renderFacts(classes) {
  const box = document.getElementById("facts-meds");
  document.getElementById("facts-asked").hidden = !classes;
  box.replaceChildren(...(classes ? [...classes, FIRST].map(yesNo) : []));
}

function sessionFacts() {
  const facts = { intention: document.getElementById("intention").value.trim() };
  const groups = [...document.querySelectorAll("#facts-meds .yes-no")];
  if (document.getElementById("facts-asked").hidden || !groups.length) return facts;
  const answered = (g) => (g.dataset.answer ? g.dataset.answer === "yes" : null);
  const meds = {};
  for (const g of groups) {
    if (g.dataset.name === FIRST) facts.first_treatment = answered(g);
    else if (answered(g) !== null) meds[g.dataset.name] = answered(g);
  }
  facts.medications = meds;
  return facts;
}
