// The Todo page served at GET /: plain HTML and a little script that calls the JSON API on relative paths, so
// it works through the gateway (/ → tasks) and through a port-forward to the pod alike.
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Todo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
  h1 { font-size: 1.6rem; }
  form { display: flex; gap: .5rem; align-items: end; margin-bottom: 1rem; }
  label { display: flex; flex-direction: column; flex: 1; font-weight: 600; }
  input { font: inherit; padding: .4rem; border: 1px solid #666; border-radius: 4px; }
  button { font: inherit; padding: .4rem .9rem; border: 1px solid #16467f; border-radius: 4px; background: #16467f;
    color: #fff; cursor: pointer; }
  button:focus-visible, input:focus-visible { outline: 3px solid #f0a000; outline-offset: 2px; }
  ul { list-style: none; padding: 0; }
  li { display: flex; justify-content: space-between; align-items: center; padding: .4rem 0;
    border-bottom: 1px solid #ddd; }
  li.done .title { text-decoration: line-through; color: #555; }
  #status { min-height: 1.5em; color: #a00000; }
</style>
</head>
<body>
<main>
  <h1>Todo</h1>
  <form id="add">
    <label>New task <input id="title" name="title" required maxlength="200" autocomplete="off"></label>
    <button type="submit">Add</button>
  </form>
  <p id="status" role="alert"></p>
  <ul id="tasks" aria-label="Tasks"></ul>
</main>
<script>
  const list = document.getElementById('tasks');
  const status = document.getElementById('status');
  const input = document.getElementById('title');

  async function call(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(method + ' ' + path + ' answered ' + res.status);
    return res.json();
  }

  function render(tasks) {
    list.replaceChildren(...tasks.map((t) => {
      const li = document.createElement('li');
      li.className = t.done ? 'done' : '';
      const title = document.createElement('span');
      title.className = 'title';
      title.id = 'task-' + t.id;
      title.textContent = t.title;
      li.append(title);
      if (t.done) {
        const state = document.createElement('span');
        state.textContent = 'done';
        li.append(state);
      } else {
        const done = document.createElement('button');
        done.type = 'button';
        done.textContent = 'Done';
        done.setAttribute('aria-describedby', title.id);
        done.addEventListener('click', () => run(() => call('POST', 'tasks/' + t.id + '/done')));
        li.append(done);
      }
      return li;
    }));
  }

  async function run(change) {
    try {
      if (change) await change();
      render(await call('GET', 'tasks'));
      status.textContent = '';
    } catch (err) {
      status.textContent = String(err.message || err);
    }
  }

  document.getElementById('add').addEventListener('submit', (event) => {
    event.preventDefault();
    const title = input.value.trim();
    if (!title) return;
    run(async () => {
      await call('POST', 'tasks', { title });
      input.value = '';
    });
  });
  run();
</script>
</body>
</html>
`;
