// Offering a result as a download: a link to a local blob: URL, named and sized.

/** Points a download link at `blob` (hidden when there is none). */
export function offer(link: HTMLAnchorElement, blob: Blob | undefined, name: string, what: string): void {
  link.hidden = !blob;
  if (!blob) return;
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.textContent = `Download ${what} (${name}, ${fileSize(blob.size)})`;
}

function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  return bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
