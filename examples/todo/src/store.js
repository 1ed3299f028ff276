// The tasks kept across reloads (a database in the real app): handlers are reloaded, this module is not.
const tasks = [];
module.exports = { tasks };
