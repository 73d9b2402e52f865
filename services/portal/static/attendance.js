// Enhancement only: how many members are ticked, before the form is sent (the service
// decides the quorum when the attendance is recorded).
document.querySelectorAll("form[data-attendance]").forEach((form) => {
  const out = form.querySelector("[data-ticked]");
  const boxes = form.querySelectorAll("input[name=present]");
  const show = () => {
    const n = [...boxes].filter((b) => b.checked).length;
    out.textContent = `${n} / ${boxes.length}`;
  };
  boxes.forEach((b) => b.addEventListener("change", show));
  show();
});
