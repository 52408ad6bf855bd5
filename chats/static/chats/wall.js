/*
 * The live supervision wall (chats/admin/wall.py). Plain JavaScript, no library.
 *
 * The page carries its first state, its settings and its texts as JSON (`wall-state`, `wall-config`,
 * `wall-strings`). It opens the events WebSocket of the same origin and authenticates with the admin session (an
 * auth frame without a token) from the last event id it saw; on a chat, message, transfer or agent-status event
 * of its shop it refetches the state (debounced) and draws it again. Between events a 1 s timer advances the waits
 * and their 120 s / 180 s levels. A lost connection is retried with backoff and resumed from the last id; while it
 * is down the state is refetched every 15 s, so the wall never stands still.
 */
(function () {
  "use strict";

  const RECONNECT_MAX_MS = 30000;
  const DEBOUNCE_MS = 250;
  const DEBOUNCE_MAX_MS = 1000;
  const REFRESH_LIVE_MS = 60000;
  const REFRESH_OFFLINE_MS = 15000;
  const SILENCE_MS = 70000; // the server pings every 25 s: this long without a frame means the connection is dead

  function byId(id) {
    return document.getElementById(id);
  }

  function readJson(id) {
    return JSON.parse(byId(id).textContent);
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, (match, key) => (key in values ? String(values[key]) : match));
  }

  function clock(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const rest = String(total % 60).padStart(2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function Wall() {
    this.config = readJson("wall-config");
    this.strings = readJson("wall-strings");
    this.lastId = null;
    this.socket = null;
    this.attempts = 0;
    this.lastFrameAt = 0;
    this.fetching = false;
    this.dirty = false;
    this.debounce = null;
    this.firstDirtyAt = null;
    this.lastRefreshAt = performance.now();
    this.levels = new Map();
    const language = document.documentElement.lang || undefined;
    const options = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
    try {
      this.timeFormat = new Intl.DateTimeFormat(language, { ...options, timeZone: this.config.timezone });
    } catch (error) {
      this.timeFormat = new Intl.DateTimeFormat(language, options);
    }
    this.accept(readJson("wall-state"));
  }

  Wall.prototype.accept = function (state) {
    this.state = state;
    this.receivedAt = performance.now();
    this.render();
  };

  /* Seconds since the state was computed: the server's waits plus this page's own clock (no clock skew). */
  Wall.prototype.elapsed = function () {
    return (performance.now() - this.receivedAt) / 1000;
  };

  Wall.prototype.level = function (seconds) {
    const limits = this.state.thresholds;
    if (seconds > limits.missed_seconds) return "missed";
    if (seconds > limits.at_risk_seconds) return "at_risk";
    return "ok";
  };

  Wall.prototype.render = function () {
    this.renderWaiting();
    this.renderAgents();
    this.renderFigures();
    this.tick();
  };

  Wall.prototype.renderFigures = function () {
    const s = this.strings;
    const today = this.state.today;
    const decided = today.answered_3m + today.missed_3m;
    const rate = byId("kpi-rate");
    if (today.response_rate_3m === null) {
      byId("wall-rate").textContent = "—";
      rate.className = "kpi";
    } else {
      const percent = today.response_rate_3m * 100;
      byId("wall-rate").textContent = `${percent.toFixed(percent % 1 === 0 ? 0 : 1)}%`;
      rate.className = `kpi ${today.response_rate_3m >= 0.8 ? "good" : "missed"}`;
    }
    const details = [];
    if (today.first_turns_in_hours === 0) details.push(s.no_first_turns);
    else details.push(format(s.rate_detail, { answered: today.answered_3m, decided }));
    if (today.pending_3m) details.push(format(s.pending, { count: today.pending_3m }));
    byId("wall-rate-detail").textContent = details.join(" · ");

    const average = today.avg_first_response_seconds;
    byId("wall-first-response").textContent =
      average === null ? "—" : format(s.seconds, { seconds: Math.round(average) });
    byId("wall-first-response-detail").textContent = today.first_responses
      ? format(s.responses, { count: today.first_responses })
      : s.no_responses;

    byId("wall-queue-length").textContent = String(this.state.queue.length);
    // Left messages (no agent was online) wait in the same line, beside the queue.
    const left = byId("wall-left-messages");
    const leftCount = this.state.left_messages ? this.state.left_messages.count : 0;
    left.textContent = format(left.dataset.template, { count: leftCount });
    left.dataset.count = String(leftCount);
    const seats = this.state.seats;
    const online = byId("wall-online");
    online.textContent = String(seats.online);
    online.append(element("small", "", ` / ${seats.agents}`));
    byId("wall-online-detail").textContent = format(s.online_detail, {
      active: seats.online_active_chats,
      capacity: seats.online_capacity,
    });
  };

  Wall.prototype.renderWaiting = function () {
    const s = this.strings;
    const body = byId("wall-waiting");
    const rows = this.state.waiting;
    body.replaceChildren();
    this.levels = new Map();
    for (const chat of rows) {
      const row = element("tr");
      row.dataset.conversation = String(chat.conversation_id);
      row.dataset.state = chat.status === this.config.queued_status ? "queued" : chat.agent ? "assigned" : chat.status;
      row.append(element("td", "waited"));
      const id = element("td", "chat-id", `#${chat.conversation_id} `);
      id.append(element("span", "wall-tag", chat.first_turn ? s.first_turn : format(s.turn, { number: chat.turn })));
      row.append(id);
      row.append(element("td", "buyer", chat.buyer_nick));
      const agent = element("td", "agent");
      if (chat.agent) agent.textContent = chat.agent.name;
      else if (chat.status === this.config.queued_status) agent.append(element("span", "pill queued", s.queued));
      else agent.append(element("span", "pill bot", s.bot));
      row.append(agent);
      row.append(element("td", "since", this.timeFormat.format(new Date(chat.since))));
      body.append(row);
    }
    byId("wall-waiting-empty").hidden = rows.length > 0;
    byId("wall-waiting-table").hidden = rows.length === 0;
    const more = this.state.waiting_counts.waiting - rows.length;
    byId("wall-waiting-more").hidden = more <= 0;
    byId("wall-waiting-more").textContent = format(s.more_waiting, { count: more });
  };

  Wall.prototype.renderAgents = function () {
    const body = byId("wall-agents");
    body.replaceChildren();
    for (const agent of this.state.agents) {
      const row = element("tr", `agent-${agent.status}`);
      row.dataset.agent = String(agent.id);
      row.dataset.status = agent.status;
      row.append(element("td", "agent-name", agent.name));
      const status = element("td");
      status.append(element("span", `status status-${agent.status}`, this.strings.statuses[agent.status] || agent.status));
      row.append(status);
      const seats = element("div", agent.active_chats >= agent.capacity ? "seats full" : "seats");
      seats.append(element("span", "seats-count", `${agent.active_chats} / ${agent.capacity}`));
      const bar = element("span", "seats-bar");
      const fill = element("span");
      fill.style.width = `${agent.capacity ? Math.min(100, (100 * agent.active_chats) / agent.capacity) : 100}%`;
      bar.append(fill);
      seats.append(bar);
      const cell = element("td");
      cell.append(seats);
      row.append(cell);
      body.append(row);
    }
    byId("wall-agents-empty").hidden = this.state.agents.length > 0;
    byId("wall-agents-table").hidden = this.state.agents.length === 0;
  };

  /* Every second: the clock, the waits and their levels, the queue's oldest wait. */
  Wall.prototype.tick = function () {
    const s = this.strings;
    const elapsed = this.elapsed();
    byId("wall-clock").textContent = this.timeFormat.format(new Date());
    let atRisk = 0;
    let missed = 0;
    let crossed = false;
    const rows = byId("wall-waiting").children;
    this.state.waiting.forEach((chat, index) => {
      const waited = chat.waited_seconds + elapsed;
      const level = this.level(waited);
      if (level !== "ok") atRisk += 1;
      if (level === "missed") missed += 1;
      const previous = this.levels.get(chat.conversation_id);
      if (previous !== undefined && previous !== "missed" && level === "missed") crossed = true;
      this.levels.set(chat.conversation_id, level);
      const row = rows[index];
      row.className = `level-${level}`;
      row.dataset.level = level;
      row.firstChild.textContent = clock(waited);
    });
    const counts = this.state.waiting_counts;
    // The server's counts cover chats past the list's limit; the list's own cover the seconds since.
    if (counts.waiting > this.state.waiting.length) {
      atRisk = Math.max(atRisk, counts.past_at_risk);
      missed = Math.max(missed, counts.past_missed);
    }
    byId("wall-waiting-count").textContent = String(counts.waiting);
    byId("wall-waiting-detail").textContent = format(s.waiting_detail, { at_risk: atRisk, missed });
    byId("kpi-waiting").className = `kpi ${missed ? "missed" : atRisk ? "at_risk" : counts.waiting ? "" : "good"}`;

    const queue = this.state.queue;
    const queueTile = byId("kpi-queue");
    if (queue.length && queue.oldest_wait_seconds !== null) {
      const wait = queue.oldest_wait_seconds + elapsed;
      byId("wall-queue-detail").textContent = format(s.oldest, { wait: clock(wait) });
      const level = this.level(wait);
      queueTile.className = `kpi ${level === "ok" ? "" : level}`;
    } else {
      byId("wall-queue-detail").textContent = s.queue_empty;
      queueTile.className = "kpi good";
    }
    // A first turn passing 180 s turns from pending to missed in today's rate: ask the server for the figures.
    if (crossed) this.scheduleRefresh();
    this.watch();
  };

  Wall.prototype.watch = function () {
    const now = performance.now();
    const live = this.socket !== null && this.connection === "live";
    if (live && now - this.lastFrameAt > SILENCE_MS) {
      const socket = this.socket;
      this.socket = null;
      socket.close();
      this.setConnection("reconnecting");
      this.reconnectLater();
    }
    if (now - this.lastRefreshAt > (live ? REFRESH_LIVE_MS : REFRESH_OFFLINE_MS)) this.refresh();
  };

  Wall.prototype.setConnection = function (state) {
    this.connection = state;
    const badge = byId("wall-connection");
    badge.dataset.state = state;
    badge.textContent = this.strings[state];
    byId("wall").dataset.connection = state;
  };

  Wall.prototype.connect = function () {
    this.setConnection(this.attempts ? (this.connection === "signed_out" ? "signed_out" : "reconnecting") : "connecting");
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    let socket;
    try {
      socket = new WebSocket(`${scheme}//${window.location.host}${this.config.socket_path}`);
    } catch (error) {
      this.reconnectLater();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.lastFrameAt = performance.now();
      socket.send(JSON.stringify({ type: "auth", after: this.lastId })); // no token: the session authenticates
    };
    socket.onmessage = (message) => {
      if (this.socket !== socket) return;
      this.lastFrameAt = performance.now();
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (frame.type === "ready") {
        this.attempts = 0;
        if (this.lastId === null) this.lastId = frame.last_id;
        this.setConnection("live");
        this.refresh(); // whatever changed between the page's state (or the lost connection) and now
      } else if (typeof frame.id === "number") {
        if (this.lastId === null || frame.id > this.lastId) this.lastId = frame.id;
        if (frame.shop === this.config.shop && this.config.refresh_on.includes(frame.type)) this.scheduleRefresh();
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setConnection(event.code === 4401 || event.code === 4403 ? "signed_out" : "reconnecting");
      this.reconnectLater();
    };
  };

  Wall.prototype.reconnectLater = function () {
    this.attempts += 1;
    const base = Math.min(RECONNECT_MAX_MS, 1000 * 2 ** Math.min(this.attempts - 1, 5));
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), base * (0.75 + Math.random() * 0.5));
  };

  /* Refetch soon: events come in bursts (a chat assigned, its message, an agent's seats), one fetch serves them. */
  Wall.prototype.scheduleRefresh = function () {
    const now = performance.now();
    if (this.firstDirtyAt === null) this.firstDirtyAt = now;
    clearTimeout(this.debounce);
    const wait = Math.max(0, Math.min(DEBOUNCE_MS, DEBOUNCE_MAX_MS - (now - this.firstDirtyAt)));
    this.debounce = setTimeout(() => this.refresh(), wait);
  };

  Wall.prototype.refresh = async function () {
    clearTimeout(this.debounce);
    this.debounce = null;
    this.firstDirtyAt = null;
    this.lastRefreshAt = performance.now();
    if (this.fetching) {
      this.dirty = true;
      return;
    }
    this.fetching = true;
    try {
      const response = await fetch(this.config.state_url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok || !type.includes("application/json")) throw new Error(`state: ${response.status}`);
      this.accept(await response.json());
      byId("wall-stale").hidden = true;
    } catch (error) {
      byId("wall-stale").hidden = false;
    } finally {
      this.fetching = false;
      if (this.dirty) {
        this.dirty = false;
        this.scheduleRefresh();
      }
    }
  };

  function start() {
    const wall = new Wall();
    window.supervisionWall = wall; // for the browser test and the curious
    wall.connect();
    setInterval(() => wall.tick(), 1000);
    const button = byId("wall-fullscreen");
    if (button && byId("wall").requestFullscreen) {
      button.addEventListener("click", () => byId("wall").requestFullscreen());
    } else if (button) {
      button.hidden = true;
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
