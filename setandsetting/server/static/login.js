// Login: post the room token with the CSRF header, then go on to the page asked for.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await api("POST", "/login", { token: document.getElementById("token").value });
    if (result.ok) location.href = "/";
    else toast(errorText(result), "refused");
  });
});
