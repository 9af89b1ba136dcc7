// Enhances the swipe page: drag/touch, arrow keys, prefetching, undo, all through the JSON API.
// Without this script the Like/Nope/Undo buttons still work as plain form posts.

const deck = document.getElementById("deck");
const swipeForm = document.getElementById("swipe-form");
const undoForm = document.getElementById("undo-form");
const photoInput = document.getElementById("swipe-photo");
const likeButton = document.getElementById("like-button");
const nopeButton = document.getElementById("nope-button");
const undoButton = document.getElementById("undo-button");
const countEl = document.getElementById("swipe-count");
const miniTop = document.getElementById("mini-top");
const miniTopLabel = document.getElementById("mini-top-label");
const emptyEl = document.getElementById("empty");
const loadingEl = document.getElementById("loading");
const announcer = document.getElementById("announcer");
const toast = document.getElementById("toast");

const PREFETCH = 5;
const queue = JSON.parse(document.getElementById("upcoming-photos").textContent);
const prefetched = new Map();
let card = document.getElementById("card");
let busy = false; // one swipe animation at a time
let pending = Promise.resolve(); // API calls run in order, so undo follows the swipe it undoes
let swipeCount = Number(countEl.textContent) || 0;
let fetchingMore = false;
let refetch = false; // asked to fetch while fetching: fetch again once that fetch ends
let swipesInFlight = 0; // sent, not yet answered (each answer brings the upcoming photos)
let asked = 0; // requests for upcoming photos so far: each request's `ticket` is its number
let exhausted = false;
const swiped = new Set(); // photos swiped on this page, never shown again even if a fetch raced the swipe

function csrfToken() {
  const input = swipeForm.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

async function api(url, options = {}) {
  const response = await fetch(url, {
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
    ...options,
  }).catch(() => {
    throw Object.assign(new Error("no connection"), { status: 0 }); // fetch's own words: "Failed to fetch"
  });
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw Object.assign(new Error(body.error || `HTTP ${response.status}`), { status: response.status });
  return body;
}

function showToast(text) {
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(showToast.timer);
  showToast.timer = setTimeout(() => { toast.hidden = true; }, 3000);
}

function prefetch(photo) {
  if (!prefetched.has(photo.id)) {
    const img = new Image();
    img.src = photo.image_url;
    prefetched.set(photo.id, img);
  }
}

// The server picks the most informative photos given every swipe so far (CITYVIBES_PHOTO_ORDER=smart),
// so each swipe asks for the upcoming photos in the same request ("next"); the card on screen stays.
// deck.dataset.queue is "fresh" once the upcoming photos reflect every swipe made so far.
function markQueue() {
  deck.dataset.queue = fetchingMore || swipesInFlight ? "fetching" : "fresh";
}

// They were picked to follow `after`, the card on screen when they were asked for. If the person has
// swiped that card away since and a later request is on its way, keep the cards already queued (they
// were picked to follow the ones swiped) and let the later answer bring more: mixing an older answer
// in gave fast swipers 4-5 cards of one city among 8, against at most 3.
function useUpcoming(photos, after, ticket) {
  const showing = card ? Number(card.dataset.photoId) : null;
  if (showing !== after && ticket !== asked) return;
  const fresh = photos.filter((p) => p.id !== showing && !swiped.has(p.id)).slice(0, PREFETCH);
  exhausted = fresh.length === 0;
  queue.splice(card ? 1 : 0, queue.length, ...fresh);
  queue.slice(1, 3).forEach(prefetch);
  if (!card) renderTop();
}

// On page load, when no card is left to show, and after a failed swipe (otherwise each swipe brings them).
async function topUpQueue() {
  if (fetchingMore) {
    refetch = true;
    return;
  }
  if (exhausted && !card) {
    markQueue();
    return;
  }
  fetchingMore = true;
  markQueue();
  try {
    await pending; // the server must know about swipes already made before it picks the next photos
    const after = card ? Number(card.dataset.photoId) : null;
    const ticket = ++asked;
    const body = await api(`${deck.dataset.nextUrl}?n=${PREFETCH + 1}${after === null ? "" : `&showing=${after}`}`);
    useUpcoming(body.photos, after, ticket);
  } catch (error) {
    showToast(`Could not load more photos: ${error.message}`);
  } finally {
    fetchingMore = false;
    if (refetch) {
      refetch = false;
      topUpQueue();
    } else {
      markQueue();
    }
  }
}

function creditHtml(photo) {
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const link = (url) => (/^https?:\/\//i.test(url ?? "") ? url : ""); // never javascript: or data: in an href
  const c = { ...photo.credit, page_url: link(photo.credit.page_url), licence_url: link(photo.credit.licence_url) };
  const author = c.page_url ? `<a href="${esc(c.page_url)}" rel="noopener" target="_blank">${esc(c.author)}</a>` : esc(c.author);
  let licence = "";
  if (c.licence) {
    licence = c.licence_url
      ? ` · <a href="${esc(c.licence_url)}" rel="noopener license" target="_blank">${esc(c.licence)}</a>`
      : ` · ${esc(c.licence)}`;
  }
  return author + licence;
}

function buildCard(photo) {
  const el = document.createElement("article");
  el.className = "card";
  el.id = "card";
  el.tabIndex = 0;
  el.dataset.photoId = photo.id;
  el.setAttribute("aria-roledescription", "swipe card");
  el.setAttribute("aria-describedby", "card-help");
  const img = document.createElement("img");
  img.className = "card-image";
  img.src = photo.image_url;
  img.alt = photo.alt;
  img.width = photo.width;
  img.height = photo.height;
  img.draggable = false;
  const credit = document.createElement("p");
  credit.className = "credit";
  credit.innerHTML = creditHtml(photo);
  el.append(img, credit);
  for (const kind of ["like", "nope"]) {
    const stamp = document.createElement("span");
    stamp.className = `stamp stamp-${kind}`;
    stamp.setAttribute("aria-hidden", "true");
    stamp.textContent = kind.toUpperCase();
    el.append(stamp);
  }
  return el;
}

function renderTop() {
  // The server-rendered first card is queue[0]; after that, cards are built from the queue.
  if (card) card.remove();
  const photo = queue[0];
  if (!photo) {
    // Out of cards: every photo seen, or (a fast swiper) the next ones are still on their way.
    card = null;
    photoInput.value = "";
    emptyEl.hidden = !exhausted;
    loadingEl.hidden = exhausted;
    likeButton.disabled = nopeButton.disabled = true;
    topUpQueue();
    return;
  }
  card = buildCard(photo);
  deck.insertBefore(card, emptyEl);
  attachDrag(card);
  photoInput.value = photo.id;
  emptyEl.hidden = loadingEl.hidden = true;
  likeButton.disabled = nopeButton.disabled = false;
  queue.slice(1, 3).forEach(prefetch);
}

// The server sends top cities only once there is something to lean towards (a like, and not every
// photo liked): otherwise the list and its label stay hidden.
function cityItem(city) {
  const item = document.createElement("li");
  const match = Object.assign(document.createElement("span"), {
    className: "match",
    textContent: `${Math.round(100 * city.match)}%`,
  });
  item.append(`${city.name} `, match);
  return item;
}

function updateSummary(body) {
  swipeCount = body.swipe_count;
  countEl.textContent = swipeCount;
  undoButton.disabled = swipeCount === 0;
  miniTop.replaceChildren(...body.top_cities.map(cityItem));
  miniTopLabel.hidden = body.top_cities.length === 0;
}

function swipe(liked) {
  if (busy || !card || !queue.length) return;
  busy = true;
  const photo = queue.shift();
  swiped.add(photo.id);
  const leaving = card;
  card = null;
  leaving.removeAttribute("id");
  leaving.setAttribute("aria-hidden", "true");
  leaving.style.pointerEvents = "none";
  const direction = liked ? 1 : -1;
  leaving.classList.remove("dragging", "settle");
  leaving.classList.add("fly");
  leaving.style.transform = `translate(${direction * window.innerWidth}px, -40px) rotate(${direction * 30}deg)`;
  leaving.addEventListener("transitionend", () => leaving.remove(), { once: true });
  setTimeout(() => leaving.remove(), 400);
  // The card now on screen was chosen before this swipe: the photos after it are chosen to follow it.
  // The swipe goes out before the card is drawn: with no card left, drawing asks for more photos, and
  // that request must come after this swipe.
  const request = { photo: photo.id, liked, next: PREFETCH + 1, ...(queue[0] ? { showing: queue[0].id } : {}) };
  const ticket = ++asked;
  swipesInFlight += 1;
  pending = pending
    .then(() => api(deck.dataset.swipeUrl, { method: "POST", body: JSON.stringify(request) }))
    .then((body) => {
      updateSummary(body);
      useUpcoming(body.next_photos || [], request.showing ?? null, ticket);
    })
    .catch((error) => {
      // 409: this browser already swiped the photo the other way, in another tab or window (one tab
      // alone never sends that: its swipes and undos go out one after another).
      if (error.status === 409) {
        showToast("Not saved: another tab already swiped this photo the other way.");
      } else {
        // Not saved (no connection, too many swipes, the server busy): the photo comes back to swipe again.
        swiped.delete(photo.id);
        queue.unshift(photo);
        renderTop();
        showToast(`That swipe was not saved (${error.message}): the photo is back, swipe it again.`);
      }
      if (queue.length < 2) topUpQueue();
    })
    .finally(() => {
      swipesInFlight -= 1;
      markQueue();
    });
  renderTop();
  if (card) card.focus({ preventScroll: true });
  busy = false;
  announcer.textContent = `${liked ? "Liked" : "Noped"}. ${queue.length ? "Next photo." : ""}`;
  markQueue();
}

function undo() {
  if (busy) return;
  pending = pending
    .then(() => api(deck.dataset.undoUrl, { method: "POST", body: "{}" }))
    .then((body) => {
      swiped.delete(body.undone.id);
      queue.unshift(body.undone);
      renderTop();
      updateSummary(body);
      exhausted = false;
      announcer.textContent = "Undone. The photo is back.";
      if (card) card.focus({ preventScroll: true });
    })
    .catch((error) => showToast(error.status === 409 ? "Nothing to undo." : `Undo failed: ${error.message}`));
}

function attachDrag(el) {
  let startX = 0;
  let startY = 0;
  let dx = 0;
  let pointerId = null;
  const likeStamp = el.querySelector(".stamp-like");
  const nopeStamp = el.querySelector(".stamp-nope");

  el.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || event.target.closest("a")) return;
    pointerId = event.pointerId;
    el.setPointerCapture(pointerId);
    startX = event.clientX;
    startY = event.clientY;
    dx = 0;
    el.classList.add("dragging");
    el.classList.remove("settle");
  });
  el.addEventListener("pointermove", (event) => {
    if (event.pointerId !== pointerId) return;
    dx = event.clientX - startX;
    const dy = (event.clientY - startY) * 0.3;
    el.style.transform = `translate(${dx}px, ${dy}px) rotate(${dx / 15}deg)`;
    const strength = Math.min(Math.abs(dx) / 100, 1);
    likeStamp.style.opacity = dx > 0 ? strength : 0;
    nopeStamp.style.opacity = dx < 0 ? strength : 0;
  });
  const release = (event) => {
    if (event.pointerId !== pointerId) return;
    pointerId = null;
    el.classList.remove("dragging");
    const threshold = Math.min(120, el.offsetWidth * 0.25);
    if (Math.abs(dx) > threshold) {
      swipe(dx > 0);
    } else {
      el.classList.add("settle");
      el.style.transform = "";
      likeStamp.style.opacity = nopeStamp.style.opacity = 0;
    }
  };
  el.addEventListener("pointerup", release);
  el.addEventListener("pointercancel", release);
}

swipeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  swipe(event.submitter ? event.submitter.value === "1" : true);
});
undoForm.addEventListener("submit", (event) => {
  event.preventDefault();
  undo();
});
document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea, select, [contenteditable]") || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key === "ArrowRight") { event.preventDefault(); swipe(true); }
  else if (event.key === "ArrowLeft") { event.preventDefault(); swipe(false); }
  else if (event.key === "Backspace") { event.preventDefault(); undo(); }
});

if (card) attachDrag(card);
queue.slice(1, 3).forEach(prefetch);
topUpQueue();
window.addEventListener("online", () => {
  if (!card) topUpQueue(); // the photos that could not load while offline
});
