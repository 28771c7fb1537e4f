/* Rapport chat widget: the assistant, and a person after a handoff.
 * Embed: <script src="https://YOUR-RAPPORT/v1/assistant/widget.js" data-write-key="WRITE_KEY" defer></script>
 * Vanilla JavaScript, no dependencies, no inline styles or scripts (it works under a strict CSP),
 * text only (nothing a server or a customer wrote is ever parsed as HTML). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__rapportChat) { return; }
  window.__rapportChat = true;
  var writeKey = script.getAttribute("data-write-key") || "";
  var base = new URL(script.src, document.baseURI);
  var api = base.origin + base.pathname.replace(/\/widget\.js$/, "");
  var title = script.getAttribute("data-title") || "Chat with us";
  var POLL_MS = 4000;
  var store = { get: function (k) { try { return window.localStorage.getItem(k); } catch (e) { return null; } },
                set: function (k, v) { try { window.localStorage.setItem(k, v); } catch (e) { /* private mode */ } } };

  function anonymousId() {
    var ajs = store.get("ajs_anonymous_id"); /* analytics.js's: the chat joins the visitor's browsing */
    if (ajs) { try { return JSON.parse(ajs); } catch (e) { return ajs; } }
    var own = store.get("rapport.chat.anonymousId");
    if (!own) {
      own = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
      store.set("rapport.chat.anonymousId", own);
    }
    return own;
  }

  var visitor = anonymousId();
  var conversation = store.get("rapport.chat.conversation");
  var seen = {};
  var pollTimer = null;
  var handedOff = false;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }

  var css = el("link", { rel: "stylesheet", href: api + "/widget.css" });
  document.head.appendChild(css);
  var root = el("div", { "class": "rapport-chat" });
  var toggle = el("button", { type: "button", "class": "rapport-chat-toggle", "aria-expanded": "false",
                              "aria-controls": "rapport-chat-panel" }, title);
  var panel = el("section", { id: "rapport-chat-panel", "class": "rapport-chat-panel", "aria-label": title, hidden: "" });
  var heading = el("h2", { "class": "rapport-chat-title", id: "rapport-chat-title" }, title);
  var close = el("button", { type: "button", "class": "rapport-chat-close", "aria-label": "Close the chat" }, "×");
  var log = el("div", { "class": "rapport-chat-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
                        "aria-labelledby": "rapport-chat-title", tabindex: "0" });
  var form = el("form", { "class": "rapport-chat-form" });
  var label = el("label", { "for": "rapport-chat-input", "class": "rapport-chat-label" }, "Your question");
  var input = el("textarea", { id: "rapport-chat-input", name: "text", rows: "2", maxlength: "2000", required: "" });
  var send = el("button", { type: "submit" }, "Send");
  var status = el("p", { "class": "rapport-chat-status", role: "status" });
  form.appendChild(label); form.appendChild(input); form.appendChild(send);
  panel.appendChild(heading); panel.appendChild(close); panel.appendChild(log); panel.appendChild(status); panel.appendChild(form);
  root.appendChild(toggle); root.appendChild(panel);
  document.body.appendChild(root);

  function say(who, text, extra) {
    var item = el("div", { "class": "rapport-chat-message rapport-chat-" + who });
    var names = { customer: "You", assistant: "Assistant", agent: "Agent" };
    item.appendChild(el("span", { "class": "rapport-chat-who" }, (names[who] || who) + ": "));
    item.appendChild(el("span", { "class": "rapport-chat-text" }, text));
    if (extra && extra.article) {
      var link = el("a", { href: new URL(extra.article.url, api).href, "class": "rapport-chat-article",
                           "data-slug": extra.article.slug }, "Read the article: " + extra.article.title);
      item.appendChild(el("br"));
      item.appendChild(link);
    }
    if (extra && extra.options && extra.options.length) {
      var group = el("div", { role: "group", "aria-label": "Choose one", "class": "rapport-chat-options" });
      extra.options.forEach(function (option, i) {
        var button = el("button", { type: "button" }, (i + 1) + ". " + option.title);
        button.addEventListener("click", function () { group.remove(); post(option.title, option.intent); });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function request(method, path, body) {
    var init = { method: method, headers: { "X-Write-Key": writeKey }, credentials: "omit" };
    if (body) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(api + path, init).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) { var error = new Error(data.message || ("error " + res.status)); error.status = res.status; throw error; }
        return data;
      });
    });
  }

  function post(text, choice) {
    say("customer", text);
    status.textContent = "Sending…";
    send.disabled = true;
    var body = { text: text, anonymousId: visitor };
    if (conversation) { body.conversationId = conversation; }
    if (choice) { body.choice = choice; }
    return request("POST", "/messages", body).then(function (reply) {
      status.textContent = "";
      conversation = reply.conversation_id;
      store.set("rapport.chat.conversation", conversation);
      if (reply.text) { say("assistant", reply.text, reply); }
      if (reply.status === "handed_off") { handedOff = true; startPolling(); }
      return refresh(false);
    }).catch(function (error) {
      if (error.status === 404 && conversation) { conversation = null; store.set("rapport.chat.conversation", ""); }
      status.textContent = "Not sent: " + error.message;
    }).then(function () { send.disabled = false; });
  }

  function refresh(showAll) {
    if (!conversation) { return Promise.resolve(); }
    return request("GET", "/conversations/" + encodeURIComponent(conversation) + "?anonymousId=" + encodeURIComponent(visitor))
      .then(function (data) {
        data.messages.forEach(function (m) {
          if (seen[m.id]) { return; }
          seen[m.id] = true;
          if (showAll || m.author === "agent") { say(m.author, m.text, m); }
        });
        if (data.status === "handed_off") { handedOff = true; startPolling(); }
      }).catch(function (error) {
        if (error.status === 404) { conversation = null; store.set("rapport.chat.conversation", ""); }
      });
  }

  function startPolling() {
    if (pollTimer || !handedOff) { return; }
    pollTimer = window.setInterval(function () { if (!panel.hidden) { refresh(false); } }, POLL_MS);
  }

  function open() {
    panel.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    if (!log.childNodes.length) {
      if (conversation) { refresh(true); } else { say("assistant", "Hello! Ask me a question about your account, cards or payments."); }
    }
    input.focus();
  }

  function shut() {
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    toggle.focus();
  }

  toggle.addEventListener("click", function () { if (panel.hidden) { open(); } else { shut(); } });
  close.addEventListener("click", shut);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { shut(); } });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || send.disabled) { return; }
    input.value = "";
    post(text);
  });
})();
