// The page works without this: it lets a photo be dropped onto the search form, opens a
// result's "why?" in a dialog (without it the link shows the overlay image itself), and makes
// the like/dislike toggles answer the space bar as buttons do.
(() => {
  const PHOTO = "lookalike-photo"; // the last searched photo, so its results can be explained
  const form = document.getElementById("photo-form");
  const input = document.getElementById("photo");

  // Kept for this tab only; a photo too large for the storage is simply not explainable.
  const remember = (file) => new Promise((done) => {
    const reader = new FileReader();
    reader.onload = () => {
      try { sessionStorage.setItem(PHOTO, reader.result); } catch (e) { sessionStorage.removeItem(PHOTO); }
      done();
    };
    reader.onerror = () => done();
    reader.readAsDataURL(file);
  });
  const submit = (files) => remember(files[0]).then(() => form.requestSubmit());

  if (form && input) {
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
      submit(input.files);
    });
    input.addEventListener("change", () => { if (input.files.length) submit(input.files); });
  }

  // A region: dragged over a picture, it is written into the form's box field as fractions
  // of the picture (the field itself is the keyboard's way to give one).
  const fraction = (v) => Math.min(1, Math.max(0, v)).toFixed(3).replace(/\.?0+$/, "") || "0";
  document.querySelectorAll("form.region[data-draw-on]").forEach((regionForm) => {
    const picture = document.querySelector(regionForm.dataset.drawOn);
    const field = regionForm.querySelector('input[name="box"]');
    if (!picture || !field) return;
    picture.classList.add("drawable");
    const frame = picture.parentElement;
    const mark = document.createElement("div");
    mark.className = "drawn";
    mark.hidden = true;
    frame.appendChild(mark);
    let start = null;
    let dragged = false;
    const at = (e) => {
      const r = picture.getBoundingClientRect();
      return [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height];
    };
    const show = (a, b) => {
      const [x0, x1] = [Math.min(a[0], b[0]), Math.max(a[0], b[0])];
      const [y0, y1] = [Math.min(a[1], b[1]), Math.max(a[1], b[1])];
      const box = [x0, y0, x1, y1].map((v) => Math.min(1, Math.max(0, v)));
      Object.assign(mark.style, {
        left: `${picture.offsetLeft + box[0] * picture.clientWidth}px`,
        top: `${picture.offsetTop + box[1] * picture.clientHeight}px`,
        width: `${(box[2] - box[0]) * picture.clientWidth}px`,
        height: `${(box[3] - box[1]) * picture.clientHeight}px`,
      });
      mark.hidden = false;
      return box;
    };
    picture.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      start = at(e);
      dragged = false;
      picture.setPointerCapture(e.pointerId);
    });
    picture.addEventListener("pointermove", (e) => {
      if (!start) return;
      dragged = true;
      show(start, at(e));
    });
    picture.addEventListener("pointerup", (e) => {
      if (!start) return;
      const box = show(start, at(e));
      start = null;
      if (box[2] - box[0] > 0.01 && box[3] - box[1] > 0.01) field.value = box.map(fraction).join(",");
    });
    // A drag over the item's picture is not a click on its link.
    const link = picture.closest("a");
    if (link) link.addEventListener("click", (e) => { if (dragged) { e.preventDefault(); dragged = false; } });
  });

  // The results of a photo: the photo itself, remembered, so a region of it can be searched.
  const preview = document.getElementById("photo-preview");
  const remembered = sessionStorage.getItem(PHOTO);
  if (preview && remembered && form && input) {
    preview.src = remembered;
    document.getElementById("photo-query").hidden = false;
    document.getElementById("photo-region-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const blob = await (await fetch(remembered)).blob();
      const files = new DataTransfer();
      files.items.add(new File([blob], "photo", { type: blob.type }));
      input.files = files.files;
      document.getElementById("photo-box").value = document.getElementById("photo-region-box").value;
      form.requestSubmit();
    });
  }

  document.querySelectorAll('a[role="button"]').forEach((a) => {
    a.addEventListener("keydown", (e) => {
      if (e.key === " ") { e.preventDefault(); a.click(); }
    });
  });

  const dialog = document.getElementById("why");
  if (!dialog || !dialog.showModal) return;
  const img = document.getElementById("why-img");
  const text = document.getElementById("why-text");
  let opener = null;
  document.getElementById("why-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => { if (opener) opener.focus(); });

  const percent = (x) => `${Math.round(100 * x)}%`;
  const show = async (trigger, request) => {
    opener = trigger;
    img.removeAttribute("src");
    img.alt = "";
    text.textContent = "Working out the map…";
    dialog.showModal();
    let body;
    try {
      const r = await request();
      body = await r.json();
      if (!r.ok) { text.textContent = body.error || `the map could not be made (${r.status})`; return; }
    } catch (e) {
      text.textContent = "the map could not be fetched: try again.";
      return;
    }
    const query = body.query.item_id || "your photo";
    const hit = body.hit.item_id;
    const share = percent(body.query.top_share);
    const top = percent(body.top_fraction);
    img.alt = `Similarity map of ${query} (left) and ${hit} (right): warm regions raise their ` +
      `score of ${body.score.toFixed(4)}, cool regions lower it; the top ${top} of ${query}'s ` +
      `regions carry ${share} of it.`;
    img.src = body.overlay;
    text.textContent = `Score ${body.score.toFixed(4)}: the top ${top} of the query's regions ` +
      `carry ${share} of it, the match's top ${top} ${percent(body.hit.top_share)} ` +
      `(${body.method} map, ${body.grid.join(" × ")} regions).`;
  };

  document.querySelectorAll("a.why[data-explain]").forEach((a) => {
    a.addEventListener("click", (e) => {
      e.preventDefault();
      show(a, () => fetch(a.dataset.explain, { credentials: "same-origin" }));
    });
  });

  const photo = sessionStorage.getItem(PHOTO);
  document.querySelectorAll("button.why[data-explain-photo]").forEach((b) => {
    if (!photo) return; // nothing to explain against: the control stays hidden
    b.hidden = false;
    b.addEventListener("click", () => show(b, async () => {
      const blob = await (await fetch(photo)).blob();
      const data = new FormData();
      data.append("file", blob, "photo");
      return fetch(b.dataset.explainPhoto, { method: "POST", body: data, credentials: "same-origin" });
    }));
  });
})();
