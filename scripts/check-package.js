// After `npm run build`: loads every node and credential package.json lists from dist/, as n8n does,
// and checks that each one's icon (and each node's codex file) was copied next to it.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));
const problems = [];

function load(file) {
	const module = require(path.join(root, file));
	const classes = Object.values(module).filter((value) => typeof value === 'function');
	if (classes.length !== 1) throw new Error(`${file} should export exactly one class`);
	return new classes[0]();
}

function iconOf(file, icon) {
	const name = typeof icon === 'string' ? icon : icon?.light;
	if (!name?.startsWith('file:')) return problems.push(`${file}: icon must be a file: icon`);
	const iconPath = path.join(root, path.dirname(file), name.slice('file:'.length));
	if (!fs.existsSync(iconPath)) problems.push(`${file}: icon ${iconPath} is missing from dist`);
}

for (const file of pkg.n8n.credentials) {
	const credential = load(file);
	iconOf(file, credential.icon);
	if (!credential.name || !credential.displayName) problems.push(`${file}: credential without name`);
}
const names = new Set();
for (const file of pkg.n8n.nodes) {
	const node = load(file);
	const { description } = node;
	iconOf(file, description.icon);
	const codex = file.replace(/\.js$/, '.json');
	if (!fs.existsSync(path.join(root, codex))) problems.push(`${file}: codex ${codex} is missing from dist`);
	else if (JSON.parse(fs.readFileSync(path.join(root, codex), 'utf8')).node !== `${pkg.name}.${description.name}`) problems.push(`${codex}: "node" must be ${pkg.name}.${description.name}`);
	if (names.has(description.name)) problems.push(`${file}: duplicate node name ${description.name}`);
	names.add(description.name);
}
const sources = fs.readdirSync(path.join(root, 'nodes'), { recursive: true }).filter((f) => String(f).endsWith('.node.ts'));
if (sources.length !== pkg.n8n.nodes.length) problems.push(`package.json lists ${pkg.n8n.nodes.length} nodes but nodes/ has ${sources.length}`);

if (problems.length) {
	console.error(`Package check failed:\n- ${problems.join('\n- ')}`);
	process.exit(1);
}
console.log(`Package check: ${pkg.n8n.nodes.length} nodes and ${pkg.n8n.credentials.length} credentials load from dist/ with their icons and codex files`);
