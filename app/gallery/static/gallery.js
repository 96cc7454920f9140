// The page works without this: it only lets a photo be dropped onto the search form.
(() => {
  const form = document.getElementById("photo-form");
  const input = document.getElementById("photo");
  if (!form || !input) return;
  const on = (e) => { e.preventDefault(); form.classList.add("over"); };
  const off = () => form.classList.remove("over");
  form.addEventListener("dragover", on);
  form.addEventListener("dragenter", on);
  form.addEventListener("dragleave", off);
  form.addEventListener("drop", (e) => {
    e.preventDefault();
    off();
    if (!e.dataTransfer || !e.dataTransfer.files.length) return;
    input.files = e.dataTransfer.files;
    form.requestSubmit();
  });
  input.addEventListener("change", () => { if (input.files.length) form.requestSubmit(); });
})();
