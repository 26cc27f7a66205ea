// The staff session on every staff page: the login form (POST /api/session, then ?next= or the
// role's page) and the logout button. The CSRF token a state-changing request must send is the
// one in <meta name="csrf-token"> (written by the server for a valid session cookie), else the
// one kept in sessionStorage at login; window.joignable.csrf() returns it for any page's script.
"use strict";

(function () {
  const KEY = "joignable.csrf";
  const HEADER = "X-CSRF-Token";

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return (meta && meta.content) || sessionStorage.getItem(KEY) || "";
  }

  window.joignable = Object.assign(window.joignable || {}, { csrf, csrfHeader: HEADER });

  function showError(text) {
    const el = document.getElementById("error");
    if (el) el.textContent = text || "";
  }

  async function logout() {
    try {
      await fetch("/api/session", {
        method: "DELETE",
        headers: { [HEADER]: csrf() },
        credentials: "same-origin",
      });
    } finally {
      sessionStorage.removeItem(KEY);
      window.location.assign("/login");
    }
  }

  function setUpLogin(form) {
    const data = JSON.parse(document.getElementById("login-data").textContent);
    const t = data.t;
    const status = document.getElementById("login-status");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError("");
      status.textContent = t.logging_in;
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const response = await fetch("/api/session", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          credentials: "same-origin",
          body: JSON.stringify({
            username: form.elements.username.value,
            password: form.elements.password.value,
          }),
        });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) {
          status.textContent = "";
          const e = (body && body.error) || {};
          showError(response.status === 401 ? t.login_failed : e.message || String(response.status));
          form.elements.password.select();
          return;
        }
        sessionStorage.setItem(KEY, body.csrf_token);
        // data.next was checked by the server: a path of this site, or empty
        window.location.assign(data.next || data.homes[body.role] || "/login");
      } catch (err) {
        status.textContent = "";
        showError(String(err));
      } finally {
        button.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const logoutButton = document.getElementById("logout");
    if (logoutButton) logoutButton.addEventListener("click", logout);
    const form = document.getElementById("login-form");
    if (form) setUpLogin(form);
  });
})();
