/**
 * Preloaded into the benchmark's n8n (NODE_OPTIONS=--require): TLS connections to graph.facebook.com
 * go to the local sandbox at GRAPH_API_ROUTE (host:port) instead, with the server name kept, so the
 * certificate for graph.facebook.com the sandbox presents is checked as usual (its CA is given to
 * n8n with NODE_EXTRA_CA_CERTS). n8n's built-in WhatsApp node has Meta's URL built in; this is the
 * hosts-file entry that lets it, our nodes and the HTTP Request node hit the same sandbox.
 */
const tls = require('node:tls');

const [routeHost, routePort] = String(process.env.GRAPH_API_ROUTE || '').split(':');
if (routeHost && routePort) {
	const connect = tls.connect;
	tls.connect = function routedConnect(...args) {
		const options = args.find((a) => a && typeof a === 'object');
		if (options && (options.host === 'graph.facebook.com' || options.servername === 'graph.facebook.com')) {
			options.servername = 'graph.facebook.com';
			options.host = routeHost;
			options.port = Number(routePort);
			const rest = args.filter((a) => a !== options && typeof a === 'function');
			return connect.call(this, options, ...rest);
		}
		return connect.apply(this, args);
	};
}
