// The three parts of undici the transport uses, imported from their own modules: undici's index
// also loads fetch, WebSocket, the caches, mocks and interceptors, some 70 ms of CPU on every
// `molt build` start-up (issue 16). The request API is what the index adds to the dispatcher
// prototype; it is added here the same way (idempotent when the index is loaded as well).
import type * as Undici from "undici";
import api from "undici/lib/api/index.js";
import AgentClass from "undici/lib/dispatcher/agent.js";
import DispatcherClass from "undici/lib/dispatcher/dispatcher.js";
import ProxyAgentClass from "undici/lib/dispatcher/proxy-agent.js";

Object.assign((DispatcherClass as { prototype: object }).prototype, api);

/** undici's `Agent` (a pool per origin). */
export const Agent = AgentClass as typeof Undici.Agent;
/** undici's `ProxyAgent`. */
export const ProxyAgent = ProxyAgentClass as typeof Undici.ProxyAgent;
