// The invite page's browser side: copy the command, and join in this browser with the sign-in
// this tab keeps (sessionStorage "coope.token", the call page's), or after signing in here.
// Everything the daemon says is shown with textContent, never as HTML.

const TOKEN_KEY = "coope.token";
const $ = (id) => document.getElementById(id);
const code = $("invite").dataset.code;
let token = sessionStorage.getItem(TOKEN_KEY);

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
    throw error;
  }
  return data;
}

function tell(text, kind) {
  $("outcome").textContent = text;
  $("outcome").className = kind;
}

function signedIn(username) {
  $("username").textContent = username;
  $("signed-in").hidden = false;
  $("signin").hidden = true;
}

function signedOut() {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("signed-in").hidden = true;
  $("signin").hidden = false;
}

async function whoami() {
  if (!token) return signedOut();
  try {
    signedIn((await api("GET", "/api/v1/auth/whoami")).user.username);
  } catch (error) {
    if (error.status === 401) signedOut();
    else tell(error.message, "error");
  }
}

async function signIn() {
  const session = await api("POST", "/api/v1/auth/login", {
    username: $("user").value,
    password: $("password").value,
  });
  token = session.token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("password").value = "";
  signedIn(session.user.username);
}

$("join").addEventListener("click", async () => {
  if (!token && !$("signin").reportValidity()) return;
  $("join").disabled = true;
  tell("", "");
  try {
    if (!token) await signIn();
    const joined = await api("POST", "/api/v1/invites/join", { code });
    const ws = joined.workspace;
    tell(
      joined.joined
        ? `You joined ${ws.name} as ${ws.role}. From a terminal: coope doc tree ${ws.id}`
        : `You are already in ${ws.name} (as ${ws.role}).`,
      "ok",
    );
    $("join").hidden = true;
  } catch (error) {
    if (error.status === 401 && token) signedOut();
    tell(error.message, "error");
    $("join").disabled = false;
  }
});

if (navigator.clipboard) {
  $("copy").hidden = false;
  $("copy").addEventListener("click", async () => {
    await navigator.clipboard.writeText($("command").textContent);
    $("copy").textContent = "Copied";
  });
}

$("browser").hidden = false;
whoami();
