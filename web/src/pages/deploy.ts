/** Mount and deploy helpers: one-line commands with this server's address filled in. */
import { h, mount, field } from '../dom.js'
import { repoNames } from '../api.js'

/** Render /deploy. */
export async function deployPage (el: HTMLElement, _p: string[], _signal: AbortSignal): Promise<void> {
  const origin = location.origin
  let repos: Array<{ name: string, id: string, type: string }> = []
  try { repos = await repoNames() } catch { repos = [] }
  const models = repos.filter(r => r.type === 'model')
  const pick = h('select', { id: 'deploy-model' }, models.length > 0 ? models.map(m => h('option', { value: m.id }, m.id)) : h('option', { value: 'my-org/my-model' }, 'my-org/my-model (no models stored yet)'))
  const list = h('div', { 'data-testid': 'deploy-commands' })
  const draw = (): void => {
    const id = pick.value
    const cmds: Array<[string, string, string]> = [
      ['HF_ENDPOINT', 'Every Hugging Face client (huggingface_hub, transformers, datasets, vLLM, TGI) downloads from this server:', `export HF_ENDPOINT=${origin}`],
      ['huggingface-cli', 'Download a snapshot:', `HF_ENDPOINT=${origin} huggingface-cli download ${id}`],
      ['transformers', 'Load the model:', `HF_ENDPOINT=${origin} python -c 'from transformers import AutoModel; AutoModel.from_pretrained("${id}")'`],
      ['vLLM', 'Serve it with vLLM:', `HF_ENDPOINT=${origin} vllm serve ${id}`],
      ['TGI', 'Serve it with Text Generation Inference (host network, so the container reaches this address):', `docker run --gpus all --network host -e HF_ENDPOINT=${origin} ghcr.io/huggingface/text-generation-inference --model-id ${id}`],
      // a store is opened by one process at a time: the mount needs this server stopped
      ['mount', 'Or, on the store\'s machine with this server stopped (a store is opened by one process at a time), mount it read-only and load from the folder:', `tenpak mount /mnt/tenpak & vllm serve /mnt/tenpak/models/${id}`],
      ['@huggingface/hub', 'JavaScript:', `await downloadFile({ repo: '${id}', path: 'config.json', hubUrl: '${origin}' })`]
    ]
    mount(list, cmds.map(([name, what, cmd]) => h('section', { class: 'card cmd' }, h('h2', {}, name), h('p', {}, what), h('div', { class: 'copyrow' }, h('pre', { tabindex: 0 }, h('code', {}, cmd)), copyButton(cmd, name)))))
  }
  pick.addEventListener('change', draw)
  mount(el, h('h1', {}, 'Mount & deploy'),
    h('p', {}, 'This server is at ', h('code', { 'data-testid': 'origin' }, origin), '. Point your serving stack at it:'),
    h('div', { class: 'card form' }, field('Model', pick)), list)
  draw()
}

function copyButton (text: string, name: string): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'copy', 'aria-label': `Copy the ${name} command` }, 'Copy')
  b.addEventListener('click', () => {
    const done = (msg: string): void => { b.textContent = msg; setTimeout(() => { b.textContent = 'Copy' }, 1500) }
    // the clipboard API needs a secure context; elsewhere the user selects the text
    if (navigator.clipboard == null) { done('Select and copy'); return }
    navigator.clipboard.writeText(text).then(() => { done('Copied') }, () => { done('Select and copy') })
  })
  return b
}
