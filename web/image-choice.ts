// Which image files feed the model: one file (a 3-D volume, or a 4-D one holding every modality),
// or, for a multi-modal model, one file per modality in the order its model file names them. The
// file pickers and drag-and-drop both land here; the kind chosen last is the one used. Several
// files dropped at once are taken as one per modality in file-name order (nnU-Net's
// case_0000.nii.gz, case_0001.nii.gz, … sort that way), and each picker shows what it holds.

import type { NamedFile } from './volume.js';

export const NIFTI_NAME = /\.nii(\.gz)?$/i;

export interface ImageChoiceElements {
  /** The one-file picker and its label text. */
  single: HTMLInputElement;
  singleLabel: HTMLElement;
  /** Shown for multi-modal models: holds one picker per modality. */
  fieldset: HTMLFieldSetElement;
  slots: HTMLElement;
}

/** Makes a file picker show `file` (or nothing), as if the user had chosen it. */
export function showInPicker(input: HTMLInputElement, file: File | undefined): void {
  const transfer = new DataTransfer();
  if (file) transfer.items.add(file);
  input.files = transfer.files;
}

const byName = (a: File, b: File): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class ImageChoice {
  private single: File | null = null;
  /** Index k holds modality k's file; may be longer than the model's list when files are dropped. */
  private perModality: (File | undefined)[] = [];
  private modalities: string[] = [];
  private mode: 'single' | 'modalities' = 'single';
  private slotInputs: HTMLInputElement[] = [];

  constructor(private readonly ui: ImageChoiceElements, private readonly onChange: () => void) {
    ui.single.addEventListener('change', () => {
      const file = ui.single.files?.[0];
      if (file) this.chooseSingle(file);
    });
  }

  /** The model's modality names: one picker each when there are several. */
  setModalities(names: readonly string[]): void {
    this.modalities = [...names];
    const several = names.length > 1;
    this.ui.fieldset.hidden = !several;
    this.ui.singleLabel.textContent = several ? `Volume (one 4-D file holding all ${names.length} modalities)` : `Volume (${names[0]})`;
    const labels = names.map((name, k) => {
      const input = document.createElement('input');
      input.type = 'file';
      input.accept = '.nii,.gz';
      input.id = `modality-file-${k}`;
      showInPicker(input, this.perModality[k]);
      input.addEventListener('change', () => {
        const file = input.files?.[0];
        if (!file) return;
        this.perModality[k] = file;
        this.mode = 'modalities';
        this.onChange();
      });
      const label = document.createElement('label');
      label.className = 'row';
      label.append(`${name} `, input);
      return { label, input };
    });
    this.slotInputs = labels.map((l) => l.input);
    this.ui.slots.replaceChildren(...labels.map((l) => l.label));
  }

  /** NIfTI files dropped on the page: one is the volume; several are one per modality. */
  drop(files: File[]): void {
    if (files.length === 1) {
      showInPicker(this.ui.single, files[0]);
      this.chooseSingle(files[0]);
      return;
    }
    this.perModality = [...files].sort(byName);
    this.slotInputs.forEach((input, k) => showInPicker(input, this.perModality[k]));
    this.mode = 'modalities';
    this.onChange();
  }

  /** The files to read, in channel order, or a sentence saying what is missing. */
  current(): NamedFile[] | string {
    if (this.mode === 'single') {
      return this.single ? [{ name: this.single.name, file: this.single }] : 'Choose a volume (.nii or .nii.gz).';
    }
    const n = this.modalities.length;
    const count = this.perModality.filter(Boolean).length;
    if (n === 0) return `${count} volumes chosen: choose the model, which says which modalities it takes.`;
    if (this.perModality.length > n) {
      return `${count} volumes dropped, but the model takes ${n === 1 ? '1 modality' : `${n} modalities`} (${this.modalities.join(', ')}): drop one file per modality, or one file holding them all.`;
    }
    const missing = this.modalities.filter((_, k) => !this.perModality[k]);
    if (missing.length > 0) return `Choose a file for ${missing.join(', ')}.`;
    return this.modalities.map((m, k) => ({ name: `${m}: ${this.perModality[k]!.name}`, file: this.perModality[k]! }));
  }

  private chooseSingle(file: File): void {
    this.single = file;
    this.mode = 'single';
    this.onChange();
  }
}
