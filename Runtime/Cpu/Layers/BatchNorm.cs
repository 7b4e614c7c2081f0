using System;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace ModelDsl.Runtime.Cpu.Layers;

// batch_norm(momentum=0.1, eps=1e-5, affine=true), PyTorch's nn.BatchNorm1d/2d, per channel c over the batch and the
// spatial positions:
//   x [N, C, S] (S = 1 for [B, C], L for [B, C, L], H·W for [N, C, H, W])   weight, bias [C] (empty: affine=false)   y like x
// Training (batch statistics, n = N·S values per channel):
//   mean[c] = Σ x / n;  var[c] = Σ (x − mean)² / n (biased);  rstd[c] = 1/√(var + eps);  y = (x − mean)·rstd·weight + bias
//   running_mean = (1 − momentum)·running_mean + momentum·mean
//   running_var  = (1 − momentum)·running_var  + momentum·var·n/(n − 1)   (unbiased, as PyTorch)
//   num_batches_tracked += 1;   mean, rstd [C] saved for the backward
// Inference (running statistics): y = (x − running_mean)/√(running_var + eps)·weight + bias
// Backward (training; x̂ = (x − mean)·rstd, the statistics depend on x):
//   dx (+)= weight·rstd·(dy − mean(dy) − x̂·mean(dy·x̂));  dweight (+)= Σ dy·x̂;  dbias (+)= Σ dy
public static unsafe class BatchNorm
{
    /// <summary>
    /// <c>y = batch_norm(x)·weight + bias</c>. In training (<paramref name="training"/>) it normalises with the batch's
    /// statistics, saves <paramref name="mean"/> and <paramref name="rstd"/> [C] for <see cref="Backward"/>, updates
    /// <paramref name="runningMean"/> and <paramref name="runningVar"/> and counts <paramref name="numBatchesTracked"/>;
    /// at inference it normalises with the running statistics and changes nothing else.
    /// </summary>
    /// <exception cref="ArgumentException">Training with one value per channel (N·S = 1): no variance (PyTorch raises the same).</exception>
    public static void Forward(int batch, int channels, int spatial, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> y, Span<float> mean, Span<float> rstd, Span<float> runningMean, Span<float> runningVar, StateBuffer numBatchesTracked,
        float momentum, float eps, bool training)
    {
        Check(batch, channels, spatial, x, weight, mean, rstd);
        LayerArgs.OptionalLength(bias.Length, nameof(bias), "[C]", channels);
        LayerArgs.Length(y.Length, nameof(y), "[N, C, S]", batch, channels, spatial);
        LayerArgs.Length(runningMean.Length, nameof(runningMean), "[C]", channels);
        LayerArgs.Length(runningVar.Length, nameof(runningVar), "[C]", channels);
        ArgumentNullException.ThrowIfNull(numBatchesTracked);
        if (!(eps >= 0f)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be a non-negative number.");
        if (!(momentum >= 0f && momentum <= 1f)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must lie in [0, 1].");
        long n = (long)batch * spatial;
        if (training)
        {
            if (n <= 1)
                throw new ArgumentException($"batch_norm in training needs more than one value per channel, but the input is [{batch}, {channels}, {spatial}] (PyTorch raises the same).", nameof(x));
            float unbias = (float)((double)n / (n - 1));
            for (int c = 0; c < channels; c++)
            {
                (float m, float variance) = Statistics(batch, channels, spatial, x, c);
                mean[c] = m;
                rstd[c] = 1f / MathF.Sqrt(variance + eps);
                runningMean[c] = (1f - momentum) * runningMean[c] + momentum * m;
                runningVar[c] = (1f - momentum) * runningVar[c] + momentum * variance * unbias;
            }
            numBatchesTracked.Count++;
        }
        // y = x·k + shift per channel, k = weight·rstd and shift = bias − mean·k, from the batch statistics in training
        // and the running ones at inference (which writes nothing but y).
        for (int c = 0; c < channels; c++)
        {
            float m = training ? mean[c] : runningMean[c];
            float r = training ? rstd[c] : 1f / MathF.Sqrt(runningVar[c] + eps);
            float k = (weight.IsEmpty ? 1f : weight[c]) * r;
            float shift = (bias.IsEmpty ? 0f : bias[c]) - m * k;
            for (int b = 0; b < batch; b++)
            {
                int at = (b * channels + c) * spatial;
                ScaleShift(x.Slice(at, spatial), k, shift, y.Slice(at, spatial));
            }
        }
    }

    /// <summary>
    /// Gradients of a training-mode <see cref="Forward"/> from its saved <paramref name="mean"/> and <paramref name="rstd"/>:
    /// <c>dx (+)= …</c> (empty skips it), <c>dWeight (+)= Σ dy·x̂</c>, <c>dBias (+)= Σ dy</c> (both empty for affine=false).
    /// </summary>
    public static void Backward(int batch, int channels, int spatial, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, Span<float> dBias,
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false)
    {
        Check(batch, channels, spatial, x, weight, mean, rstd);
        LayerArgs.Length(dy.Length, nameof(dy), "[N, C, S]", batch, channels, spatial);
        LayerArgs.OptionalLength(dx.Length, nameof(dx), "[N, C, S]", batch, channels, spatial);
        LayerArgs.OptionalLength(dWeight.Length, nameof(dWeight), "[C]", channels);
        LayerArgs.OptionalLength(dBias.Length, nameof(dBias), "[C]", channels);
        double n = (double)batch * spatial;
        for (int c = 0; c < channels; c++)
        {
            float m = mean[c], s = rstd[c];
            // Σ dy and Σ dy·(x − mean) over the channel's n values (each run of S contiguous, in double across runs)
            double sumDy = 0, sumDyXc = 0;
            for (int b = 0; b < batch; b++)
            {
                int at = (b * channels + c) * spatial;
                Sums(x.Slice(at, spatial), dy.Slice(at, spatial), m, out float a, out float d);
                sumDy += a;
                sumDyXc += d;
            }
            float sumDyXhat = (float)(sumDyXc * s);
            if (!dWeight.IsEmpty) dWeight[c] = accumulateParameterGradients ? dWeight[c] + sumDyXhat : sumDyXhat;
            if (!dBias.IsEmpty) dBias[c] = accumulateParameterGradients ? dBias[c] + (float)sumDy : (float)sumDy;
            if (dx.IsEmpty) continue;
            // dx = k·(dy − mean(dy) − x̂·mean(dy·x̂)), k = weight·rstd:  a linear map of dy and x per channel
            float k = (weight.IsEmpty ? 1f : weight[c]) * s;
            float meanDy = (float)(sumDy / n), meanDyXhat = (float)(sumDyXhat / n);
            for (int b = 0; b < batch; b++)
            {
                int at = (b * channels + c) * spatial;
                InputGradient(x.Slice(at, spatial), dy.Slice(at, spatial), dx.Slice(at, spatial), m, s, k, meanDy, meanDyXhat, accumulateInputGradient);
            }
        }
    }

    /// <summary>Channel <paramref name="c"/>'s mean and biased variance: two passes (no cancellation), the runs summed in double.</summary>
    private static (float Mean, float Variance) Statistics(int batch, int channels, int spatial, ReadOnlySpan<float> x, int c)
    {
        double n = (double)batch * spatial;
        double sum = 0;
        for (int b = 0; b < batch; b++) sum += TensorPrimitives.Sum(x.Slice((b * channels + c) * spatial, spatial));
        float m = (float)(sum / n);
        double squares = 0;
        for (int b = 0; b < batch; b++) squares += SumOfSquaredDifferences(x.Slice((b * channels + c) * spatial, spatial), m);
        return (m, (float)(squares / n));
    }

    /// <summary>Σ (x − m)² over one run.</summary>
    private static float SumOfSquaredDifferences(ReadOnlySpan<float> x, float m)
    {
        int j = 0;
        float total = 0f;
        fixed (float* p = x)
        {
            if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
            {
                var vm = Vector256.Create(m);
                var acc = Vector256<float>.Zero;
                for (; j <= x.Length - Vector256<float>.Count; j += Vector256<float>.Count)
                {
                    var d = Vector256.Load(p + j) - vm;
                    acc += d * d;
                }
                total = Vector256.Sum(acc);
            }
            for (; j < x.Length; j++)
            {
                float d = p[j] - m;
                total += d * d;
            }
        }
        return total;
    }

    /// <summary>y = x·k + shift over one run.</summary>
    private static void ScaleShift(ReadOnlySpan<float> x, float k, float shift, Span<float> y)
    {
        int j = 0;
        fixed (float* px = x)
        fixed (float* py = y)
        {
            if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
            {
                var vk = Vector256.Create(k);
                var vb = Vector256.Create(shift);
                for (; j <= x.Length - Vector256<float>.Count; j += Vector256<float>.Count) (Vector256.Load(px + j) * vk + vb).Store(py + j);
            }
            for (; j < x.Length; j++) py[j] = px[j] * k + shift;
        }
    }

    /// <summary>Σ dy and Σ dy·(x − m) over one run.</summary>
    private static void Sums(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, float m, out float sumDy, out float sumDyXc)
    {
        int j = 0;
        float a = 0f, d = 0f;
        fixed (float* px = x)
        fixed (float* pdy = dy)
        {
            if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
            {
                var vm = Vector256.Create(m);
                var va = Vector256<float>.Zero;
                var vd = Vector256<float>.Zero;
                for (; j <= x.Length - Vector256<float>.Count; j += Vector256<float>.Count)
                {
                    var g = Vector256.Load(pdy + j);
                    va += g;
                    vd += g * (Vector256.Load(px + j) - vm);
                }
                a = Vector256.Sum(va);
                d = Vector256.Sum(vd);
            }
            for (; j < x.Length; j++)
            {
                a += pdy[j];
                d += pdy[j] * (px[j] - m);
            }
        }
        sumDy = a;
        sumDyXc = d;
    }

    /// <summary>dx (+)= k·(dy − meanDy − x̂·meanDyXhat) over one run, x̂ = (x − m)·s.</summary>
    private static void InputGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, float m, float s, float k, float meanDy, float meanDyXhat, bool accumulate)
    {
        int j = 0;
        fixed (float* px = x)
        fixed (float* pdy = dy)
        fixed (float* pdx = dx)
        {
            if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
            {
                var vm = Vector256.Create(m);
                var vs = Vector256.Create(s);
                var vk = Vector256.Create(k);
                var vmd = Vector256.Create(meanDy);
                var vmdx = Vector256.Create(meanDyXhat);
                for (; j <= x.Length - Vector256<float>.Count; j += Vector256<float>.Count)
                {
                    var xhat = (Vector256.Load(px + j) - vm) * vs;
                    var d = vk * (Vector256.Load(pdy + j) - vmd - xhat * vmdx);
                    (accumulate ? Vector256.Load(pdx + j) + d : d).Store(pdx + j);
                }
            }
            for (; j < x.Length; j++)
            {
                float xhat = (px[j] - m) * s;
                float d = k * (pdy[j] - meanDy - xhat * meanDyXhat);
                pdx[j] = accumulate ? pdx[j] + d : d;
            }
        }
    }

    private static void Check(int batch, int channels, int spatial, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        LayerArgs.Positive(channels, nameof(channels));
        LayerArgs.Positive(spatial, nameof(spatial));
        LayerArgs.Length(x.Length, nameof(x), "[N, C, S]", batch, channels, spatial);
        LayerArgs.OptionalLength(weight.Length, nameof(weight), "[C]", channels);
        LayerArgs.Length(mean.Length, nameof(mean), "[C]", channels);
        LayerArgs.Length(rstd.Length, nameof(rstd), "[C]", channels);
    }
}
