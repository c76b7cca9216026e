// The browser call page, /call/{room_id}: sign in, pick devices, join the room's call.
//
// Signalling is the daemon's event websocket (/api/v1/ws, protocol in coope/daemon/sfu/calls.py):
// first message {type: "auth", token}, then `ready`; call.join -> call.joined {participants,
// ice_servers}. We ALWAYS make the offers, one at a time: send-only m-lines publish (labelled by
// `sources` {mid: microphone|camera|screen}), receive-only m-lines are slots the SFU fills
// (labelled by `tracks` {mid: {user, kind, source}} in call.answer / call.tracks). We start with
// 2 audio + 2 video slots and add what call.renegotiate {audio, video} asks for. Only VP8 and
// Opus are offered (the SFU answers nothing else).
//
// Recording marker: a participant joins with `recording: true` (meeting-notes bots do), and
// everyone is told: `recording` lists them in call.joined and call.participant_joined, and a
// `call.recording` event {room_id, user, active} follows when one joins or leaves. A username
// starting with "notes-" (the bots' default name) is shown as recording too.
//
// Network drops: when the websocket closes (or the media connection fails) we retry with
// exponential backoff (0.5 s doubling to 10 s), join again with takeover (our old connection may
// still be in the call) and build a new peer connection; so does call.kicked with the reason
// "moved" (the daemon that ran the call went away). call.kicked for any other reason (the call
// moved to another device of ours, or we left the room) stops all that.
//
// For tests: window.coope = {state, stats} where stats() lists every receive slot as
// {mid, kind, user, source, framesDecoded, bytesReceived}.

const TOKEN_KEY = "coope.token";
const START_SLOTS = { audio: 2, video: 2 };
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];
const ANSWER_TIMEOUT_MS = 15000;
const CODECS = { audio: ["audio/opus"], video: ["video/vp8", "video/rtx"] };

const $ = (id) => document.getElementById(id);
// The room id from /call/{room_id}; null when the link names no room (the daemon serves the page
// for any text there, so that this page, not a JSON error, says so).
const roomId = parseRoomId(location.pathname.split("/").filter(Boolean).pop() || "");

function parseRoomId(text) {
  const id = /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(id) ? id : null;
}

const state = {
  phase: "starting", // signin | prejoin | joining | in-call | reconnecting | refused | kicked | left | error
  user: null, // our username
  room: null, // the room's name
  participants: [], // usernames in the call, ours included
  tracks: {}, // mid -> {user, kind, source}: what each receive slot carries
  sources: {}, // mid -> microphone | camera | screen: what we publish
  recording: new Set(), // usernames flagged by call.recording
  micOn: true,
  camOn: true,
  sharing: false,
  media: "new", // the peer connection's connectionState
  joins: 0, // successful joins, reconnections included
  reconnectAttempt: 0,
  message: "", // the last notice or error shown
};

let token = null;
let local = new MediaStream(); // microphone + camera
let screenTrack = null;
let ws = null;
let wantCall = false; // we mean to be in the call: a dropped socket is retried
let takeover = false; // the next call.join moves the call here from another connection
let retryTimer = null;
let pc = null;
let sendTx = {}; // source -> our send-only transceiver
let chain = Promise.resolve(); // offers, one at a time
let pendingAnswer = null; // {resolve, reject} of the offer in flight
const sinks = new Map(); // mid -> {kind, el, frames, lastFrameAt}
let statsTimer = null;

// --- small helpers -------------------------------------------------------------------------

function setPhase(phase, status = "") {
  state.phase = phase;
  document.body.dataset.phase = phase;
  $("signin").hidden = phase !== "signin";
  $("prejoin").hidden = phase !== "prejoin";
  $("call").hidden = !["joining", "in-call", "reconnecting"].includes(phase);
  $("notice").hidden = !["refused", "kicked", "left", "error"].includes(phase);
  $("status").textContent = status;
}

function notice(phase, text, action = null, onAction = null) {
  state.message = text;
  setPhase(phase);
  $("notice-text").textContent = text;
  const button = $("notice-action");
  button.hidden = !action;
  button.textContent = action || "";
  button.onclick = onAction;
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(data?.error?.message || `HTTP ${response.status}`);
    error.status = response.status;
    error.code = data?.error?.code;
    throw error;
  }
  return data;
}

function isRecording(user) {
  return user.startsWith("notes-") || state.recording.has(user);
}

function stopTracks(stream) {
  for (const track of stream.getTracks()) track.stop();
}

// --- signing in ------------------------------------------------------------------------------

function takeToken() {
  const params = new URLSearchParams(location.search);
  const fromLink = params.get("token");
  if (fromLink) {
    sessionStorage.setItem(TOKEN_KEY, fromLink);
    params.delete("token"); // out of the address bar and the history
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : ""));
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function forgetToken(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  showSignin(why);
}

function showSignin(why = "") {
  setPhase("signin");
  $("signin-error").textContent = why;
  $("username").focus();
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  try {
    const session = await api("POST", "/api/v1/auth/login", {
      username: $("username").value,
      password: $("password").value,
    });
    token = session.token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("password").value = "";
    await start();
  } catch (error) {
    $("signin-error").textContent = error.message;
  }
});

// --- before joining: the room, the devices, a preview ---------------------------------------

async function start() {
  if (roomId === null) {
    document.title = "No such room · coope";
    notice("refused", "No such room: this link does not name a room's call. Ask for the link again.");
    return;
  }
  token = token || takeToken();
  if (!token) {
    showSignin();
    return;
  }
  try {
    const who = await api("GET", "/api/v1/auth/whoami");
    state.user = who.user.username;
    $("whoami").textContent = `Signed in as ${state.user}`;
    const room = await api("GET", `/api/v1/rooms/${roomId}`);
    state.room = room.name;
  } catch (error) {
    if (error.status === 401) {
      forgetToken("Your session has ended: sign in again.");
    } else if (error.status === 404 || error.status === 403) {
      refuse();
    } else {
      notice("error", `Cannot open the call: ${error.message}`, "Try again", start);
    }
    return;
  }
  document.title = `${state.room} · call · coope`;
  $("title").textContent = state.room;
  $("prejoin-title").textContent = `Join the call in ${state.room}`;
  await openDevices();
  setPhase("prejoin");
  $("preview").play().catch(() => {}); // it was hidden when its stream was set
}

function refuse() {
  wantCall = false;
  closePeer();
  closeSocket();
  stopTracks(local);
  notice(
    "refused",
    "You cannot join this call: you are not a member of this room (or it does not exist)."
  );
}

function constraint(select, extra) {
  if (select.value === "none") return false;
  return select.value ? { deviceId: { exact: select.value }, ...extra } : extra || true;
}

async function openDevices() {
  $("join").disabled = true; // until the chosen devices are open
  stopTracks(local);
  $("device-error").textContent = "";
  const want = {
    audio: constraint($("microphone"), null),
    video: constraint($("camera"), { width: { ideal: 640 }, height: { ideal: 480 } }),
  };
  try {
    local = want.audio || want.video ? await navigator.mediaDevices.getUserMedia(want) : new MediaStream();
  } catch (error) {
    local = new MediaStream();
    $("device-error").textContent = `No camera or microphone (${error.name}): you can still join to watch and listen.`;
  }
  $("preview").srcObject = local;
  await listDevices();
  $("join").disabled = false;
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  for (const [id, kind, none] of [
    ["camera", "videoinput", "No camera"],
    ["microphone", "audioinput", "No microphone"],
  ]) {
    const select = $(id);
    const using = local.getTracks().find((t) => t.kind === (kind === "videoinput" ? "video" : "audio"));
    const current = using?.getSettings().deviceId ?? (select.value || "none");
    select.replaceChildren();
    for (const device of devices.filter((d) => d.kind === kind)) {
      select.append(new Option(device.label || `${kind} ${select.length + 1}`, device.deviceId));
    }
    select.append(new Option(none, "none"));
    select.value = current;
  }
}

$("camera").addEventListener("change", openDevices);
$("microphone").addEventListener("change", openDevices);
$("join").addEventListener("click", () => join(false));

// --- the websocket --------------------------------------------------------------------------

function join(moveHere) {
  wantCall = true;
  takeover = moveHere;
  state.reconnectAttempt = 0;
  for (const track of local.getTracks()) {
    if (track.readyState === "ended") {
      // Left or kicked earlier: devices were released. Open them again, then join.
      openDevices().then(() => join(moveHere));
      return;
    }
  }
  setPhase("joining", "Joining…");
  render();
  connect();
}

function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
  ws = socket;
  socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token }));
  socket.onmessage = (message) => {
    if (ws === socket) onEvent(JSON.parse(message.data));
  };
  socket.onclose = (event) => {
    if (ws === socket) onSocketClosed(event);
  };
}

function closeSocket() {
  if (ws === null) return;
  const socket = ws;
  ws = null;
  socket.onclose = null;
  socket.close();
}

function send(message) {
  if (ws?.readyState !== WebSocket.OPEN) throw new Error("not connected");
  ws.send(JSON.stringify(message));
}

function onSocketClosed(event) {
  ws = null;
  if (event.code === 4401) {
    wantCall = false;
    closePeer();
    forgetToken(event.reason || "Your session has ended: sign in again.");
    return;
  }
  if (wantCall) dropped(event.reason || "connection lost");
}

// The socket closed or the media failed: start again with a new socket and peer connection.
function dropped(why) {
  closeSocket();
  closePeer();
  const delay = BACKOFF_MS[Math.min(state.reconnectAttempt, BACKOFF_MS.length - 1)];
  state.reconnectAttempt += 1;
  takeover = true; // our previous connection may still be in the call
  setPhase("reconnecting", `${why}: reconnecting in ${(delay / 1000).toFixed(1)} s…`);
  render();
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay * (0.8 + Math.random() * 0.4));
}

window.addEventListener("online", () => {
  if (retryTimer !== null) connect(); // the network is back: no need to wait any longer
});

function onEvent(event) {
  const data = event.data || {};
  if (data.room_id !== undefined && data.room_id !== roomId) return; // another room's news
  switch (event.type) {
    case "ready":
      state.user = data.user.username;
      send({ type: "call.join", room_id: roomId, takeover });
      break;
    case "call.joined":
      state.participants = data.participants;
      state.recording = new Set(data.recording || []);
      state.joins += 1;
      state.reconnectAttempt = 0;
      setPhase("in-call", "Connecting media…");
      startPeer(data.ice_servers || []);
      break;
    case "call.answer":
      pendingAnswer?.resolve(data);
      break;
    case "call.tracks":
      state.tracks = data.tracks;
      render();
      break;
    case "call.renegotiate":
      serially((p) => {
        addSlots(p, "audio", data.audio || 0);
        addSlots(p, "video", data.video || 0);
        return offer(p);
      });
      break;
    case "call.kicked":
      if (data.reason === "moved") { // KICKED_MOVED: the daemon that ran the call is gone
        if (wantCall) dropped("the call moved"); // joined again, it starts anew where we land
        break;
      }
      wantCall = false;
      closePeer();
      closeSocket();
      stopScreen();
      stopTracks(local);
      if (data.reason === "removed from the room") { // KICKED_REMOVED in coope/core
        notice("refused", "You are no longer a member of this room, so you left its call.");
      } else {
        notice("kicked", "The call moved to another device (you joined it there).", "Move it back here", () => join(true));
      }
      break;
    case "call.participant_joined":
      if (!state.participants.includes(data.user)) state.participants.push(data.user);
      if (data.recording) state.recording.add(data.user);
      render();
      break;
    case "call.participant_left":
      // Our own stale connection leaving (after a reconnection) must not remove our tile.
      if (data.user !== state.user || !pc) {
        state.participants = state.participants.filter((u) => u !== data.user);
        state.recording.delete(data.user);
        // Their slots are empty now, but the daemon does not always say so with call.tracks.
        for (const [mid, info] of Object.entries(state.tracks)) {
          if (info.user === data.user) delete state.tracks[mid];
        }
      }
      render();
      break;
    case "call.recording":
      if (data.active === false) state.recording.delete(data.user);
      else state.recording.add(data.user);
      render();
      break;
    case "error":
      onError(data);
      break;
  }
}

function onError(data) {
  if (pendingAnswer) {
    pendingAnswer.reject(new Error(data.message));
    return;
  }
  if (state.phase === "joining" || state.phase === "reconnecting") {
    if (data.code === "not_found" || data.code === "forbidden") {
      refuse();
    } else if (data.code === "conflict") {
      wantCall = false;
      closeSocket();
      notice("kicked", "You are already in this call on another device.", "Move the call here", () => join(true));
    } else {
      notice("error", `Cannot join: ${data.message}`, "Try again", () => join(true));
    }
    return;
  }
  $("status").textContent = data.message;
}

// --- the peer connection --------------------------------------------------------------------

function preferCodecs(transceiver, kind) {
  const capabilities = RTCRtpReceiver.getCapabilities(kind)?.codecs || [];
  const keep = capabilities.filter((c) => CODECS[kind].includes(c.mimeType.toLowerCase()));
  if (keep.length && transceiver.setCodecPreferences) transceiver.setCodecPreferences(keep);
}

function addSend(p, track, source) {
  const transceiver = p.addTransceiver(track, { direction: "sendonly" });
  preferCodecs(transceiver, track.kind);
  sendTx[source] = transceiver;
  return transceiver;
}

function addSlots(p, kind, count) {
  for (let i = 0; i < count; i++) preferCodecs(p.addTransceiver(kind, { direction: "recvonly" }), kind);
}

function startPeer(iceServers) {
  closePeer();
  const p = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers });
  pc = p;
  state.media = p.connectionState;
  sendTx = {};
  state.tracks = {};
  const mic = local.getAudioTracks()[0];
  const cam = local.getVideoTracks()[0];
  if (mic) addSend(p, mic, "microphone");
  if (cam) addSend(p, cam, "camera");
  if (screenTrack) addSend(p, screenTrack, "screen"); // still sharing after a reconnection
  addSlots(p, "audio", START_SLOTS.audio);
  addSlots(p, "video", START_SLOTS.video);
  p.onconnectionstatechange = () => {
    if (pc !== p) return;
    state.media = p.connectionState;
    if (state.phase === "in-call") {
      $("status").textContent = p.connectionState === "connected" ? "" : `Media ${p.connectionState}…`;
    }
    if (p.connectionState === "failed" && wantCall) dropped("media connection failed");
  };
  chain = Promise.resolve();
  serially(offer);
  statsTimer = setInterval(watchFrames, 1000);
  render();
}

function closePeer() {
  pendingAnswer?.reject(new Error("the call was closed"));
  pendingAnswer = null;
  clearInterval(statsTimer);
  statsTimer = null;
  if (pc) pc.close();
  pc = null;
  state.media = "closed";
  for (const sink of sinks.values()) sink.el.remove();
  sinks.clear();
  sendTx = {};
  state.tracks = {};
  state.sources = {};
}

// Offers go one after the other; each belongs to one peer connection and stops if it is replaced.
function serially(step) {
  const p = pc;
  const run = chain.then(() => (pc === p ? step(p) : undefined));
  chain = run.catch((error) => {
    if (pc !== p) return; // superseded: nothing to report
    console.error("negotiation failed", error);
    if (wantCall) dropped(`negotiation failed (${error.message})`);
  });
  return run;
}

async function offer(p) {
  await p.setLocalDescription(await p.createOffer());
  if (pc !== p) return;
  const sources = {};
  for (const [source, transceiver] of Object.entries(sendTx)) {
    if (transceiver.mid !== null) sources[transceiver.mid] = source;
  }
  state.sources = sources;
  let waiter;
  const answered = new Promise((resolve, reject) => {
    waiter = { resolve, reject };
    setTimeout(() => reject(new Error("no answer from the daemon")), ANSWER_TIMEOUT_MS);
  });
  pendingAnswer = waiter;
  try {
    send({ type: "call.offer", room_id: roomId, sdp: p.localDescription.sdp, sources });
    const answer = await answered;
    if (pc !== p) return;
    state.tracks = answer.tracks;
    await p.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  } finally {
    if (pendingAnswer === waiter) pendingAnswer = null;
  }
  addSinks(p);
  render();
}

// One media element per receive slot, kept for the slot's life; render() moves video ones into
// the tile of whoever the slot currently carries.
function addSinks(p) {
  for (const transceiver of p.getTransceivers()) {
    const mid = transceiver.mid;
    if (transceiver.direction !== "recvonly" || mid === null || sinks.has(mid)) continue;
    const kind = transceiver.receiver.track.kind;
    const el = document.createElement(kind);
    el.autoplay = true;
    el.playsInline = true;
    el.dataset.mid = mid;
    el.srcObject = new MediaStream([transceiver.receiver.track]);
    if (kind === "audio") $("audio-sinks").append(el);
    sinks.set(mid, { kind, el, transceiver, frames: 0, lastFrameAt: 0 });
  }
}

// Once a second: which video slots still get pictures (a stopped screen share keeps its slot,
// frozen; its tile is hidden until frames come again).
async function watchFrames() {
  const now = performance.now();
  for (const sink of [...sinks.values()]) {
    if (sink.kind !== "video") continue;
    const inbound = await inboundOf(sink.transceiver).catch(() => null); // closed meanwhile
    const frames = inbound?.framesDecoded ?? 0;
    if (frames > sink.frames) sink.lastFrameAt = now;
    sink.frames = frames;
  }
  render();
}

async function inboundOf(transceiver) {
  const report = await transceiver.receiver.getStats();
  let inbound = null;
  report.forEach((entry) => {
    if (entry.type === "inbound-rtp") inbound = entry;
  });
  return inbound;
}

// --- tiles ----------------------------------------------------------------------------------

let selfVideo = null;
let selfScreen = null;

function localVideo(existing, stream) {
  const video = existing || document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true;
  if (video.srcObject !== stream) video.srcObject = stream;
  return video;
}

function tileElement(key) {
  let tile = document.querySelector(`.tile[data-key="${CSS.escape(key)}"]`);
  if (tile) return tile;
  tile = document.createElement("figure");
  tile.className = "tile";
  tile.dataset.key = key;
  tile.innerHTML =
    '<div class="avatar"></div><figcaption><span class="name"></span>' +
    '<span class="muted-mic" hidden>mic off</span><span class="rec" hidden>● REC</span></figcaption>' +
    '<button class="fullscreen" title="Full screen" aria-label="Full screen">' +
    '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="none" ' +
    'stroke="currentColor" stroke-width="2" d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5"/></svg></button>';
  tile.querySelector(".fullscreen").onclick = () => toggleFullscreen(tile);
  $("grid").append(tile);
  return tile;
}

function render() {
  if (!state.user) return;
  const now = performance.now();
  // key -> {user, label, video, screen, self}
  const tiles = new Map();
  const person = (user) => {
    const key = `user:${user}`;
    if (!tiles.has(key)) tiles.set(key, { user, label: user, video: null, self: user === state.user });
    return tiles.get(key);
  };
  const me = person(state.user);
  me.label = `${state.user} (you)`;
  const cam = local.getVideoTracks()[0];
  if (cam && state.camOn) {
    selfVideo = localVideo(selfVideo, local);
    selfVideo.classList.add("mirror");
    me.video = selfVideo;
  }
  for (const user of state.participants) person(user);
  if (screenTrack) {
    selfScreen = localVideo(selfScreen, new MediaStream([screenTrack]));
    tiles.set("screen:self", { user: state.user, label: `${state.user} (your screen)`, video: selfScreen, screen: true });
  }
  for (const [mid, info] of Object.entries(state.tracks)) {
    const sink = sinks.get(mid);
    if (info.kind !== "video" || !sink) continue;
    const receiving = now - sink.lastFrameAt < 2500;
    if (info.source === "screen") {
      tiles.set(`screen:${mid}`, { user: info.user, label: `${info.user} (screen)`, video: sink.el, screen: true, stale: !receiving });
    } else if (receiving || !person(info.user).video) {
      person(info.user).video = sink.el;
      person(info.user).waiting = !receiving;
    }
  }

  const grid = $("grid");
  for (const tile of [...grid.children]) if (!tiles.has(tile.dataset.key)) tile.remove();
  for (const [key, info] of tiles) {
    const tile = tileElement(key);
    tile.dataset.user = info.user;
    tile.classList.toggle("screen", !!info.screen);
    tile.classList.toggle("self", !!info.self);
    tile.classList.toggle("stale-screen", !!info.stale);
    tile.classList.toggle("no-video", !info.video || !!info.waiting);
    tile.querySelector(".name").textContent = info.label;
    tile.querySelector(".avatar").textContent = info.user.slice(0, 1);
    tile.querySelector(".rec").hidden = !isRecording(info.user);
    tile.querySelector(".muted-mic").hidden = !(info.self && !info.screen && !state.micOn);
    const current = tile.querySelector("video");
    if (current !== info.video) {
      current?.remove();
      if (info.video) {
        tile.prepend(info.video);
        info.video.play().catch(() => {});
      }
    }
  }
  // Slot videos nobody shows stay out of the page (but keep their streams).
  const shown = new Set([...tiles.values()].map((t) => t.video));
  for (const sink of sinks.values()) if (sink.kind === "video" && !shown.has(sink.el)) sink.el.remove();

  const recorders = state.participants.filter(isRecording);
  const banner = $("recording-banner");
  banner.hidden = recorders.length === 0;
  banner.textContent = `● Recording (${recorders.join(", ")})`;
}

// --- controls -------------------------------------------------------------------------------

function setToggle(button, on, onText, offText, onTitle, offTitle) {
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? onText : offText;
  button.title = on ? onTitle : offTitle;
}

$("mic").addEventListener("click", () => {
  state.micOn = !state.micOn;
  for (const track of local.getAudioTracks()) track.enabled = state.micOn;
  setToggle($("mic"), state.micOn, "Mute", "Unmute", "Mute your microphone", "Unmute your microphone");
  render();
});

$("cam").addEventListener("click", () => {
  state.camOn = !state.camOn;
  for (const track of local.getVideoTracks()) track.enabled = state.camOn;
  setToggle($("cam"), state.camOn, "Stop video", "Start video", "Turn your camera off", "Turn your camera on");
  render();
});

$("screen").addEventListener("click", async () => {
  if (screenTrack) {
    stopScreen();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (error) {
    $("status").textContent = `Screen sharing refused (${error.name})`;
    return;
  }
  await shareScreen(stream.getVideoTracks()[0]);
});

async function shareScreen(track) {
  screenTrack = track;
  track.addEventListener("ended", stopScreen); // the browser's own "Stop sharing"
  state.sharing = true;
  $("screen").setAttribute("aria-pressed", "true");
  $("screen").textContent = "Stop sharing";
  render();
  if (!pc) return; // (re)joining: startPeer publishes it
  if (sendTx.screen) {
    // Shared before: the same m-line, made send-only again.
    await sendTx.screen.sender.replaceTrack(track);
    await serially((p) => {
      sendTx.screen.direction = "sendonly";
      return offer(p);
    }).catch(() => {});
  } else {
    await serially((p) => {
      addSend(p, track, "screen");
      return offer(p);
    }).catch(() => {}); // reported, and the call restarted, by serially()
  }
}

// Stop sharing: the m-line is offered as inactive, so the SFU stops the publication and
// everyone's screen tile goes; a later share makes the same m-line send-only again.
function stopScreen() {
  if (!screenTrack) return;
  screenTrack.stop();
  screenTrack = null;
  state.sharing = false;
  const screen = sendTx.screen;
  if (screen && pc) {
    screen.sender.replaceTrack(null).catch(() => {}); // (closed meanwhile)
    serially((p) => {
      screen.direction = "inactive";
      return offer(p);
    }).catch(() => {});
  }
  $("screen").setAttribute("aria-pressed", "false");
  $("screen").textContent = "Share screen";
  render();
}

function toggleFullscreen(element) {
  if (document.fullscreenElement) document.exitFullscreen();
  else element.requestFullscreen().catch((error) => ($("status").textContent = error.message));
}

$("grid-fullscreen").addEventListener("click", () => toggleFullscreen($("grid")));

$("leave").addEventListener("click", () => {
  wantCall = false;
  clearTimeout(retryTimer);
  try {
    send({ type: "call.leave", room_id: roomId });
  } catch {
    // not connected: leaving is already done
  }
  closePeer();
  closeSocket();
  stopScreen();
  stopTracks(local);
  state.participants = [];
  notice("left", "You left the call.", "Join again", () => join(true));
});

// --- test hooks -----------------------------------------------------------------------------

async function stats() {
  if (!pc) return [];
  const out = [];
  for (const transceiver of pc.getTransceivers()) {
    if (transceiver.direction !== "recvonly" || transceiver.mid === null) continue;
    const inbound = await inboundOf(transceiver);
    const info = state.tracks[transceiver.mid] || {};
    out.push({
      mid: transceiver.mid,
      kind: transceiver.receiver.track.kind,
      user: info.user ?? null,
      source: info.source ?? null,
      framesDecoded: inbound?.framesDecoded ?? 0,
      bytesReceived: inbound?.bytesReceived ?? 0,
    });
  }
  return out;
}

window.coope = { state, stats };

start();
