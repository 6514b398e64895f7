// Which discovered images a set keeps in a region (docs/adr/0027): the ones that match the selector, re-checked
// here whatever the server's filters did, Available and self-owned, newest CreationTime first, cut to spec.keep.
import type { ListedImage } from '../cloud/port.ts';
import type { ImageSelector, ImageShareSetSpec } from './types.ts';

/** One image as discovery reports it (DescribeImages, ImageOwnerAlias=self). */
export type DiscoveredImage = ListedImage;

/** True when `image` satisfies every criterion of `selector` (an empty criterion is no criterion). Pure. */
export function matchesSelector(image: DiscoveredImage, selector: ImageSelector): boolean {
  if (selector.imageFamily && image.family !== selector.imageFamily) return false;
  if (selector.namePrefix && !image.name.startsWith(selector.namePrefix)) return false;
  for (const [key, value] of Object.entries(selector.tags ?? {})) {
    if (!(key in image.tags)) return false;
    if (value !== '' && image.tags[key] !== value) return false;
  }
  return true;
}

/** Newest first by CreationTime, then by image ID, so the order is total and every pass agrees on it. */
export function newestFirst(a: DiscoveredImage, b: DiscoveredImage): number {
  const t = Date.parse(b.creationTime) - Date.parse(a.creationTime);
  if (t !== 0 && !Number.isNaN(t)) return t;
  return a.imageId < b.imageId ? -1 : a.imageId > b.imageId ? 1 : 0;
}

/** How many images spec.keep keeps: N for latest, every one for all (the CRD's default is latest 1). */
export function keepCount(spec: Pick<ImageShareSetSpec, 'keep'>, matched: number): number {
  if (spec.keep?.all === true) return matched;
  return Math.min(matched, spec.keep?.latest ?? 1);
}

/**
 * The region's window: the images that match, newest first, and the first keepCount of them. Only Available,
 * self-owned images count: a build still Creating waits and never pushes an older build out. Pure.
 */
export function windowOf(
  images: readonly DiscoveredImage[],
  spec: Pick<ImageShareSetSpec, 'selector' | 'keep'>,
): { matched: DiscoveredImage[]; kept: DiscoveredImage[] } {
  const unique = new Map<string, DiscoveredImage>();
  for (const image of images) unique.set(image.imageId, image);
  const matched = [...unique.values()]
    .filter((i) => i.status === 'Available' && i.ownerAlias === 'self' && matchesSelector(i, spec.selector))
    .sort(newestFirst);
  return { matched, kept: matched.slice(0, keepCount(spec, matched.length)) };
}
