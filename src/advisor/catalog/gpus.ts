/**
 * GPU catalog for routing: memory and memory bandwidth from NVIDIA's
 * datasheets, and cloud instance offers with an hourly price, its source and
 * the date it was read. Prices change; every entry can be replaced through a
 * config object ({@link mergeCatalog}), and figures from config are marked as
 * such in the reasoning.
 */

import { published, type Citation, type CitedValue } from '../citations.js'

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

const H100 = published('NVIDIA H100 Tensor Core GPU datasheet', 'https://www.nvidia.com/en-us/data-center/h100/', 'H100 SXM: GPU memory 80GB, GPU memory bandwidth 3.35TB/s.')
const A100 = published('NVIDIA A100 Tensor Core GPU datasheet', 'https://www.nvidia.com/en-us/data-center/a100/', 'A100 40GB SXM: 40GB HBM2, 1,555GB/s; A100 80GB SXM: 80GB HBM2e, 2,039GB/s.')
const L4 = published('NVIDIA L4 Tensor Core GPU datasheet', 'https://www.nvidia.com/en-us/data-center/l4/', 'GPU memory 24GB, GPU memory bandwidth 300GB/s.')
const L40S = published('NVIDIA L40S GPU datasheet', 'https://www.nvidia.com/en-us/data-center/l40s/', '48GB GDDR6 with ECC, memory bandwidth 864GB/s.')

/** Built-in GPUs. */
export const GPU_CATALOG: readonly GpuEntry[] = Object.freeze([
  { id: 'nvidia-l4', name: 'NVIDIA L4 24GB', memoryGB: { value: 24, unit: 'GB', source: L4 }, bandwidthGBs: { value: 300, unit: 'GB/s', source: L4 } },
  { id: 'nvidia-l40s', name: 'NVIDIA L40S 48GB', memoryGB: { value: 48, unit: 'GB', source: L40S }, bandwidthGBs: { value: 864, unit: 'GB/s', source: L40S } },
  { id: 'nvidia-a100-40gb-sxm', name: 'NVIDIA A100 40GB SXM', memoryGB: { value: 40, unit: 'GB', source: A100 }, bandwidthGBs: { value: 1555, unit: 'GB/s', source: A100 } },
  { id: 'nvidia-h100-sxm', name: 'NVIDIA H100 SXM 80GB', memoryGB: { value: 80, unit: 'GB', source: H100 }, bandwidthGBs: { value: 3350, unit: 'GB/s', source: H100 } }
])

/** When the built-in prices were read. */
export const PRICES_AS_OF = '2025-05'

const awsPrice = (instance: string, usd: number): CitedValue => ({
  value: usd,
  unit: 'USD/hour',
  source: published(`AWS EC2 On-Demand pricing, ${instance}, US East (N. Virginia), Linux`, 'https://aws.amazon.com/ec2/pricing/on-demand/',
    `${instance}: $${usd} per hour as listed on ${PRICES_AS_OF}. Cloud prices change: check the page and override with current figures.`, PRICES_AS_OF)
})

const AWS_TYPES = published('AWS EC2 instance types, accelerated computing', 'https://aws.amazon.com/ec2/instance-types/',
  'G6: NVIDIA L4 (g6.xlarge 1 GPU, g6.12xlarge 4 GPUs); G6e: NVIDIA L40S (g6e.xlarge 1 GPU); P4d: 8 × NVIDIA A100 40GB (p4d.24xlarge); P5: 8 × NVIDIA H100 80GB (p5.48xlarge).')

/** Built-in instance offers (GPU counts per AWS's instance-type pages). */
export const OFFER_CATALOG: readonly InstanceOffer[] = Object.freeze([
  { id: 'aws-g6.xlarge', provider: 'AWS', instanceType: 'g6.xlarge', gpu: 'nvidia-l4', gpuCount: 1, specSource: AWS_TYPES, hourlyUsd: awsPrice('g6.xlarge', 0.8048) },
  { id: 'aws-g6.12xlarge', provider: 'AWS', instanceType: 'g6.12xlarge', gpu: 'nvidia-l4', gpuCount: 4, specSource: AWS_TYPES, hourlyUsd: awsPrice('g6.12xlarge', 4.6016) },
  { id: 'aws-g6e.xlarge', provider: 'AWS', instanceType: 'g6e.xlarge', gpu: 'nvidia-l40s', gpuCount: 1, specSource: AWS_TYPES, hourlyUsd: awsPrice('g6e.xlarge', 1.861) },
  { id: 'aws-p4d.24xlarge', provider: 'AWS', instanceType: 'p4d.24xlarge', gpu: 'nvidia-a100-40gb-sxm', gpuCount: 8, specSource: AWS_TYPES, hourlyUsd: awsPrice('p4d.24xlarge', 32.7726) },
  { id: 'aws-p5.48xlarge', provider: 'AWS', instanceType: 'p5.48xlarge', gpu: 'nvidia-h100-sxm', gpuCount: 8, specSource: AWS_TYPES, hourlyUsd: awsPrice('p5.48xlarge', 98.32) }
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
