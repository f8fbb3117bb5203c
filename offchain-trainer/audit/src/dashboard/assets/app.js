// Live updates without a page reload: poll /api/status every second; when a new block arrives or
// the node comes back, fetch this page's content again (?fragment=1, rendered by the server,
// charts included) and swap it in. No framework, no build step, nothing from a CDN.
(function () {
	"use strict";
	const POLL_MS = 1000;
	const body = document.body;
	const status = document.getElementById("status");
	const content = document.getElementById("content");
	let lastBlock = body.dataset.block || "";
	let lastLive = body.dataset.live || "";

	function show(live, text) {
		status.className = live;
		status.textContent = text;
		body.dataset.live = live;
	}

	async function refreshContent() {
		const url = new URL(window.location.href);
		url.searchParams.set("fragment", "1");
		const response = await fetch(url, { cache: "no-store" });
		content.innerHTML = await response.text();
		body.dataset.refreshes = String(Number(body.dataset.refreshes || 0) + 1);
	}

	async function tick() {
		try {
			const response = await fetch("/api/status", { cache: "no-store" });
			const s = await response.json();
			body.dataset.polls = String(Number(body.dataset.polls || 0) + 1);
			if (s.connected && s.head) {
				show("connected", "block #" + s.head.block + " · window " + s.head.window);
				status.title = "";
				const block = String(s.head.block);
				if (block !== lastBlock || lastLive !== "connected") {
					lastBlock = block;
					body.dataset.block = block;
					await refreshContent();
				}
				lastLive = "connected";
			} else {
				show("disconnected", "node unreachable: retrying");
				status.title = s.error || "";
				lastLive = "disconnected";
			}
		} catch (e) {
			show("server-down", "dashboard server unreachable: retrying");
			lastLive = "server-down";
		}
		window.setTimeout(tick, POLL_MS);
	}

	window.setTimeout(tick, POLL_MS);
})();
