/**
 * GPU catalog for routing: memory and memory bandwidth from NVIDIA's
 * datasheets, and cloud instance offers with an hourly price, its source and
 * the date it was read. Every published figure records how it was checked
 * (docs/advisor.md, "Citation audit"): NVIDIA's and AWS's own pages were not
 * among the stored sources, so GPU figures and prices are corroborated by
 * independent copies ('secondary'). Prices change; every entry can be
 * replaced through a config object ({@link mergeCatalog}), and figures from
 * config are marked as such in the reasoning.
 */

import { checked, published, type Citation, type CitedValue } from '../citations.js'

/** A GPU model. */
export interface GpuEntry {
  id: string
  name: string
  /** GB (10^9 bytes) of device memory */
  memoryGB: CitedValue
  /** GB/s of device memory bandwidth */
  bandwidthGBs: CitedValue
}

/** A rentable machine: some number of one GPU model at an hourly price. */
export interface InstanceOffer {
  id: string
  provider: string
  instanceType: string
  gpu: string
  gpuCount: number
  /** where the GPU model and count are stated */
  specSource: Citation
  /** USD per hour, on demand */
  hourlyUsd: CitedValue
}

const H100 = checked(published('NVIDIA H100 Tensor Core GPU datasheet', 'https://www.nvidia.com/en-us/data-center/h100/', 'H100 SXM: GPU memory 80GB, GPU memory bandwidth 3.35TB/s.'),
  'secondary', 'NVIDIA page not in the stored sources; 80 GB and 3,350 GB/s stated by copies of the spec table (hpctech.co.jp H100 spec table, glennklockwood.com, Scaleway docs, codesota.com "from the NVIDIA datasheet"). Some pages give 3 TB/s, the figure of the launch announcement.')
const A100 = checked(published('NVIDIA A100 Tensor Core GPU datasheet', 'https://www.nvidia.com/en-us/data-center/a100/', 'A100 40GB SXM: 40GB HBM2, 1,555GB/s; A100 80GB SXM: 80GB HBM2e, 2,039GB/s.'),
  'secondary', 'NVIDIA datasheet PDF not in the stored sources; 40 GB and 1,555 GB/s (and 2,039 GB/s for 80 GB) stated by techpowerup.com, glennklockwood.com (citing the datasheet PDF) and thundercompute.com.')
const L4 = checked(published('NVIDIA L4 Tensor Core GPU datasheet', 'https://www.nvidia.com/en-us/data-center/l4/', 'GPU memory 24GB, GPU memory bandwidth 300GB/s.'),
  'secondary', 'NVIDIA page not in the stored sources; 24 GB and 300 GB/s stated by a reseller spec table reproducing the datasheet (store.sourcecode.com) and others (300.1 GB/s computed from the 192-bit GDDR6 bus).')
const L40S = checked(published('NVIDIA L40S GPU datasheet', 'https://www.nvidia.com/en-us/data-center/l40s/', '48GB GDDR6 with ECC, memory bandwidth 864GB/s.'),
  'secondary', 'NVIDIA page not in the stored sources; "48GB GDDR6 with ECC" and 864 GB/s stated by copies of the datasheet table (mullet.se, itcreations.com, a scribd copy of the datasheet) and modal.com.')

/** Built-in GPUs. */
export const GPU_CATALOG: readonly GpuEntry[] = Object.freeze([
  { id: 'nvidia-l4', name: 'NVIDIA L4 24GB', memoryGB: { value: 24, unit: 'GB', source: L4 }, bandwidthGBs: { value: 300, unit: 'GB/s', source: L4 } },
  { id: 'nvidia-l40s', name: 'NVIDIA L40S 48GB', memoryGB: { value: 48, unit: 'GB', source: L40S }, bandwidthGBs: { value: 864, unit: 'GB/s', source: L40S } },
  { id: 'nvidia-a100-40gb-sxm', name: 'NVIDIA A100 40GB SXM', memoryGB: { value: 40, unit: 'GB', source: A100 }, bandwidthGBs: { value: 1555, unit: 'GB/s', source: A100 } },
  { id: 'nvidia-h100-sxm', name: 'NVIDIA H100 SXM 80GB', memoryGB: { value: 80, unit: 'GB', source: H100 }, bandwidthGBs: { value: 3350, unit: 'GB/s', source: H100 } }
])

/** When the built-in prices were last checked (each price also carries its own `asOf`). */
export const PRICES_AS_OF = '2026-11'

const EC2_PRICING = 'https://aws.amazon.com/ec2/pricing/on-demand/'

const awsPrice = (instance: string, usd: number, asOf: string, status: 'secondary' | 'unverified', note: string): CitedValue => ({
  value: usd,
  unit: 'USD/hour',
  source: checked(published(`AWS EC2 On-Demand pricing, ${instance}, US East (N. Virginia), Linux`, EC2_PRICING,
    `${instance}: $${usd} per hour (price as of ${asOf}). Cloud prices change: check the page and override with current figures.`, asOf), status, note)
})

const AWS_TYPES = checked(published('AWS EC2 instance types, accelerated computing', 'https://aws.amazon.com/ec2/instance-types/',
  'G6: NVIDIA L4 (g6.xlarge 1 GPU, g6.12xlarge 4 GPUs); G6e: NVIDIA L40S (g6e.xlarge 1 GPU); P4d: 8 × NVIDIA A100 40GB (p4d.24xlarge); P5: 8 × NVIDIA H100 80GB (p5.48xlarge).'),
'secondary', 'AWS page not in the stored sources; GPU models and counts stated by the RAPIDS deployment docs (p5.48xlarge 8×H100 80 GB, p4d.24xlarge 8×A100 40 GB) and instance tables in public code (g6.xlarge 1×L4, g6.12xlarge 4×L4, g6e.xlarge 1×L40S).')

/** Built-in instance offers (GPU counts per AWS's instance-type pages). */
export const OFFER_CATALOG: readonly InstanceOffer[] = Object.freeze([
  {
    id: 'aws-g6.xlarge', provider: 'AWS', instanceType: 'g6.xlarge', gpu: 'nvidia-l4', gpuCount: 1, specSource: AWS_TYPES,
    hourlyUsd: awsPrice('g6.xlarge', 0.8048, '2026-09', 'secondary', 'AWS page not in the stored sources; $0.8048/h for g6.xlarge in us-east-1 quoted on 2026-09-26 in public code (a GPU cost profile).')
  },
  {
    id: 'aws-g6.12xlarge', provider: 'AWS', instanceType: 'g6.12xlarge', gpu: 'nvidia-l4', gpuCount: 4, specSource: AWS_TYPES,
    hourlyUsd: awsPrice('g6.12xlarge', 4.6016, '2025-05', 'secondary', 'AWS page not in the stored sources; a public instance table lists g6.12xlarge at $4.602/h (rounded), undated.')
  },
  {
    id: 'aws-g6e.xlarge', provider: 'AWS', instanceType: 'g6e.xlarge', gpu: 'nvidia-l40s', gpuCount: 1, specSource: AWS_TYPES,
    hourlyUsd: awsPrice('g6e.xlarge', 1.861, '2025-08', 'secondary', 'AWS page not in the stored sources; modal.com (August 2025) quotes AWS G6e 1×L40S on-demand at $1.861/h, us-east-1.')
  },
  {
    id: 'aws-p4d.24xlarge', provider: 'AWS', instanceType: 'p4d.24xlarge', gpu: 'nvidia-a100-40gb-sxm', gpuCount: 8, specSource: AWS_TYPES,
    hourlyUsd: awsPrice('p4d.24xlarge', 21.957642, '2026-11', 'secondary', 'Corrected from $32.7726 (the older list price, still quoted by 2024–2026 pages): the datareceipts "109-gpu-pricing" hyperscalers.json, retrieved 2026-11-09 from AWS pricing, lists $21.957642/h in us-east-1.')
  },
  {
    id: 'aws-p5.48xlarge', provider: 'AWS', instanceType: 'p5.48xlarge', gpu: 'nvidia-h100-sxm', gpuCount: 8, specSource: AWS_TYPES,
    hourlyUsd: awsPrice('p5.48xlarge', 55.04, '2026-11', 'secondary', 'Corrected from $98.32 (the pre-reduction list price, still quoted by many pages): the datareceipts "109-gpu-pricing" hyperscalers.json, retrieved 2026-11-09, lists $55.04/h ($6.88 per GPU-hour) in us-east-1, as does codesota.com.')
  }
])

/** Overrides for the built-in catalogs (e.g. parsed from a config file). */
export interface CatalogConfig {
  /** GPUs to add or replace (by id); plain numbers are accepted and cited as config */
  gpus?: Array<{ id: string, name?: string, memoryGB: number | CitedValue, bandwidthGBs: number | CitedValue }>
  /** offers to add or replace (by id) */
  offers?: Array<{ id: string, provider?: string, instanceType?: string, gpu: string, gpuCount: number, hourlyUsd: number | CitedValue }>
  /** use only these offer ids (after merging) */
  onlyOffers?: string[]
}

function fromConfig (v: number | CitedValue, unit: string, what: string): CitedValue {
  if (typeof v !== 'number') return v
  const source: Citation = { kind: 'config', title: `${what} from the caller's configuration` }
  return { value: v, unit, source }
}

/** Built-in GPU and offer catalogs with `config` applied. */
export function mergeCatalog (config: CatalogConfig = {}): { gpus: GpuEntry[], offers: InstanceOffer[] } {
  const gpus = new Map(GPU_CATALOG.map(g => [g.id, g]))
  for (const g of config.gpus ?? []) {
    const prev = gpus.get(g.id)
    gpus.set(g.id, {
      id: g.id,
      name: g.name ?? prev?.name ?? g.id,
      memoryGB: fromConfig(g.memoryGB, 'GB', `${g.id} memory`),
      bandwidthGBs: fromConfig(g.bandwidthGBs, 'GB/s', `${g.id} bandwidth`)
    })
  }
  const offers = new Map(OFFER_CATALOG.map(o => [o.id, o]))
  for (const o of config.offers ?? []) {
    offers.set(o.id, {
      id: o.id,
      provider: o.provider ?? 'custom',
      instanceType: o.instanceType ?? o.id,
      gpu: o.gpu,
      gpuCount: o.gpuCount,
      specSource: { kind: 'config', title: `${o.id} GPU model and count from the caller's configuration` },
      hourlyUsd: fromConfig(o.hourlyUsd, 'USD/hour', `${o.id} price`)
    })
  }
  let list = [...offers.values()]
  if (config.onlyOffers != null) list = list.filter(o => config.onlyOffers?.includes(o.id) === true)
  return { gpus: [...gpus.values()], offers: list }
}
