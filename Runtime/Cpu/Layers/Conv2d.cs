using System;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime.Cpu.Layers;

// conv2d(channels=K, kernel=k, stride=s, padding=p) on NCHW activations, PyTorch layouts:
//   x  [N, C, H, W]      weight [K, C, k, k] (= [K, C·k·k])      bias [K] (optional)
//   y  [N, K, H', W']    H' = ⌊(H + 2p − k)/s⌋ + 1, W' likewise
// Per image n:  col = im2col(x[n]) [C·k·k, H'·W'];  y[n] = W · col + b          (one GEMM)
// Backward:     dW += dy[n] · colᵀ,  db += Σ dy[n],  dx[n] = col2im(Wᵀ · dy[n]) (two GEMMs)
//
// Parallel over images: the workspace holds `slots` private column matrices (and, for backward, private dW/db
// partials); slot i runs images i, i + slots, ... with single-threaded GEMMs, and the partials are summed at the
// end. With one slot (a single image, one thread) the GEMMs use every thread instead.
// Why over images: on the Fashion CNN shapes at B=64 (Conv2dParallelismBenchmark, 2-thread AMD EPYC VM, medians)
//                              per-image slots   images in turn, GEMMs threaded   whole-batch im2col + one GEMM
//   1×28×28 → 32, fwd / bwd      0.5 / 1.6 ms        0.9 / 3.7 ms                     1.0 / 3.1 ms
//   32×14×14 → 64, fwd / bwd     5.9 / 11.2 ms       8.2 / 15.2 ms                    7.9 / 10.6 ms
// (the whole-batch backward ties only by reusing a forward column matrix of N·C·k·k·H'·W' floats, 14 MB here).
public static unsafe partial class Conv2d
{
    /// <summary>
    /// Floats of workspace <see cref="Forward"/> and <see cref="Backward"/> need for one column matrix and one
    /// dW/db partial per parallel slot, with as many slots as <see cref="CpuWorkers.ThreadCount"/> (at most one per image).
    /// A smaller workspace (at least <see cref="SlotLength"/>) works with fewer slots.
    /// </summary>
    public static int WorkspaceSize(in Conv2dGeometry g)
    {
        g.ThrowIfDefault();
        return LayerArgs.Size((long)SlotLength(g) * Math.Min(g.Batch, CpuWorkers.ThreadCount), "The conv2d workspace");
    }

    /// <summary>Floats of one parallel slot: a column matrix [C·k·k, H'·W'], a dW partial [K, C·k·k] and a db partial [K].</summary>
    public static int SlotLength(in Conv2dGeometry g) =>
        LayerArgs.Size((long)g.ColumnLength + g.WeightLength + g.OutChannels, "A conv2d workspace slot");

    /// <summary><c>y = conv2d(x, weight) + bias</c>. <paramref name="bias"/> may be empty (bias=false).</summary>
    public static void Forward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> y, Span<float> workspace)
    {
        int slots = CheckCommon(in g, x, weight, bias, nameof(bias), workspace);
        LayerArgs.Length(y.Length, nameof(y), "[N, K, H', W']", g.Batch, g.OutChannels, g.OutHeight, g.OutWidth);
        fixed (float* px = x)
        fixed (float* pw = weight)
        fixed (float* pb = bias)
        fixed (float* py = y)
        fixed (float* pws = workspace)
        {
            var job = new ForwardJob
            {
                G = g, X = px, W = pw, B = bias.IsEmpty ? null : pb, Y = py, Work = pws,
                Slots = slots, SlotLength = SlotLength(g), GemmThreads = slots == 1 ? 0 : 1,
            };
            CpuWorkers.Run(in job, slots);
        }
    }

    private struct ForwardJob : IParallelJob
    {
        public Conv2dGeometry G;
        public float* X, W, B, Y, Work;
        public int Slots, SlotLength, GemmThreads;

        public void Run(int slot)
        {
            float* col = Work + (long)slot * SlotLength;
            int plane = G.OutPlane, patch = G.PatchSize, inImage = G.InChannels * G.Height * G.Width;
            for (int n = slot; n < G.Batch; n += Slots)
            {
                float* y = Y + (long)n * G.OutChannels * plane;
                Im2Col(in G, X + (long)n * inImage, col, plane);
                Sgemm.Multiply(false, false, G.OutChannels, plane, patch, 1f, W, patch, col, plane, 0f, y, plane, GemmThreads);
                if (B == null) continue;
                for (int k = 0; k < G.OutChannels; k++)
                {
                    var row = new Span<float>(y + (long)k * plane, plane);
                    TensorPrimitives.Add(row, B[k], row);
                }
            }
        }
    }

    /// <summary>
    /// Gradients of <see cref="Forward"/>: <c>dWeight (+)= Σₙ dy[n]·colₙᵀ</c>, <c>dBias (+)= Σ dy</c> over N, H', W', and
    /// <c>dx (+)= col2im(Wᵀ·dy[n])</c>. An empty <paramref name="dx"/> skips the input gradient (a model input);
    /// <paramref name="dBias"/> is empty when the layer has no bias. The accumulate flags add to the destinations
    /// instead of overwriting them (a value or a tied parameter with several consumers).
    /// </summary>
    public static void Backward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, Span<float> dBias, Span<float> workspace,
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false)
    {
        int slots = CheckCommon(in g, x, weight, dBias, nameof(dBias), workspace);
        LayerArgs.Length(dy.Length, nameof(dy), "[N, K, H', W']", g.Batch, g.OutChannels, g.OutHeight, g.OutWidth);
        LayerArgs.OptionalLength(dx.Length, nameof(dx), "[N, C, H, W]", g.Batch, g.InChannels, g.Height, g.Width);
        LayerArgs.Length(dWeight.Length, nameof(dWeight), "[K, C, k, k]", g.OutChannels, g.InChannels, g.Kernel, g.Kernel);
        fixed (float* px = x)
        fixed (float* pw = weight)
        fixed (float* pdy = dy)
        fixed (float* pdx = dx)
        fixed (float* pdw = dWeight)
        fixed (float* pdb = dBias)
        fixed (float* pws = workspace)
        {
            var job = new BackwardJob
            {
                G = g, X = px, W = pw, DY = pdy, DX = dx.IsEmpty ? null : pdx, DW = pdw, DB = dBias.IsEmpty ? null : pdb,
                Work = pws, Slots = slots, SlotLength = SlotLength(g), GemmThreads = slots == 1 ? 0 : 1,
                AccumulateInput = accumulateInputGradient, AccumulateParameters = accumulateParameterGradients,
            };
            CpuWorkers.Run(in job, slots);

            // Slot 0 wrote straight into dWeight/dBias; add the other slots' partials.
            var dw = new Span<float>(pdw, g.WeightLength);
            for (int s = 1; s < slots; s++)
            {
                float* partial = pws + (long)s * job.SlotLength + g.ColumnLength;
                TensorPrimitives.Add(dw, new ReadOnlySpan<float>(partial, g.WeightLength), dw);
                if (job.DB == null) continue;
                var db = new Span<float>(pdb, g.OutChannels);
                TensorPrimitives.Add(db, new ReadOnlySpan<float>(partial + g.WeightLength, g.OutChannels), db);
            }
        }
    }

    private struct BackwardJob : IParallelJob
    {
        public Conv2dGeometry G;
        public float* X, W, DY, DX, DW, DB, Work;
        public int Slots, SlotLength, GemmThreads;
        public bool AccumulateInput, AccumulateParameters;

        public void Run(int slot)
        {
            float* col = Work + (long)slot * SlotLength;
            float* dw = slot == 0 ? DW : col + G.ColumnLength;
            float* db = DB == null ? null : slot == 0 ? DB : col + G.ColumnLength + G.WeightLength;
            int plane = G.OutPlane, patch = G.PatchSize, outCh = G.OutChannels, inImage = G.InChannels * G.Height * G.Width;
            bool first = true;
            for (int n = slot; n < G.Batch; n += Slots)
            {
                float* dy = DY + (long)n * outCh * plane;
                // The first image of slot 0 overwrites dW/db unless accumulating; every other slot starts its own partial.
                bool overwrite = first && !(slot == 0 && AccumulateParameters);
                first = false;
                Im2Col(in G, X + (long)n * inImage, col, plane);
                Sgemm.Multiply(false, true, outCh, patch, plane, 1f, dy, plane, col, plane, overwrite ? 0f : 1f, dw, patch, GemmThreads);
                if (db != null)
                {
                    for (int k = 0; k < outCh; k++)
                    {
                        float sum = TensorPrimitives.Sum(new ReadOnlySpan<float>(dy + (long)k * plane, plane));
                        db[k] = overwrite ? sum : db[k] + sum;
                    }
                }
                if (DX == null) continue;
                float* dx = DX + (long)n * inImage;
                Sgemm.Multiply(true, false, patch, plane, outCh, 1f, W, patch, dy, plane, 0f, col, plane, GemmThreads);
                if (!AccumulateInput) new Span<float>(dx, inImage).Clear();
                Col2ImAdd(in G, col, plane, dx);
            }
        }
    }

    /// <summary>Checks the arguments both passes share; returns the number of parallel slots the workspace allows.</summary>
    private static int CheckCommon(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        string biasName, ReadOnlySpan<float> workspace)
    {
        g.ThrowIfDefault();
        LayerArgs.Length(x.Length, nameof(x), "[N, C, H, W]", g.Batch, g.InChannels, g.Height, g.Width);
        LayerArgs.Length(weight.Length, nameof(weight), "[K, C, k, k]", g.OutChannels, g.InChannels, g.Kernel, g.Kernel);
        LayerArgs.OptionalLength(bias.Length, biasName, "[K]", g.OutChannels);
        int slot = SlotLength(g);
        LayerArgs.Length(workspace.Length, slot, nameof(workspace), "One conv2d slot (Conv2d.SlotLength)");
        return Math.Min(Math.Min(g.Batch, workspace.Length / slot), CpuWorkers.ThreadCount);
    }
}
