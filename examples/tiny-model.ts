// The README's example: a two-layer MLP, one backward pass, gradients read back.
import { Gpu, Tensor, backward, nn, ops } from '../src/index.js'; // 'transseg-webgpu' once installed

const gpu = await Gpu.create(); // Node/Bun: Dawn; Deno/browsers: navigator.gpu
const fc1 = new nn.Linear(gpu, /* seed */ 1, 4, 16); // weight [16, 4], bias [16], like torch.nn.Linear
const fc2 = new nn.Linear(gpu, 2, 16, 1);

const x = Tensor.fromArray(gpu, [0.1, 0.2, 0.3, 0.4, -1, 0, 1, 2], [2, 4]);
const target = Tensor.fromArray(gpu, [1, -1], [2, 1]);

const prediction = fc2.forward(ops.gelu(fc1.forward(x)));
const loss = ops.mean(ops.square(ops.sub(prediction, target))); // a scalar
backward(loss); // fills .grad of every parameter

console.log('loss', await loss.item());
console.log('d loss / d fc1.weight', await fc1.weight.grad!.read());
gpu.destroy(); // frees the device; the process can exit
