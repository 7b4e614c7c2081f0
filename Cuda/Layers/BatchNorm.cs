using System;
using ModelDsl.Runtime;

namespace ModelDsl.Cuda.Layers;

/// <summary>
/// batch_norm on the GPU (batchnorm.cuh: one block per channel for the statistics and the backward), with the parameters
/// of <c>ModelDsl.Runtime.Cpu.Layers.BatchNorm</c> after the <see cref="LayerContext"/> (device pointers for spans; a null
/// pointer where the CPU takes an empty span). The running statistics live on the device; the counter
/// <c>num_batches_tracked</c> is the model's host <see cref="StateBuffer"/>, counted here.
/// </summary>
public static class BatchNorm
{
    /// <summary>
    /// Training: <c>md_batchnorm_statistics</c> (mean, rstd, running statistics updated; the counter + 1), then
    /// <c>md_batchnorm_apply</c> with the batch statistics. Inference: <c>md_batchnorm_apply</c> with the running ones.
    /// </summary>
    /// <exception cref="ArgumentException">Training with one value per channel (N·S = 1), as the CPU kernel and PyTorch.</exception>
    public static void Forward(LayerContext gpu, int batch, int channels, int spatial, DevicePointer x, DevicePointer weight, DevicePointer bias,
        DevicePointer y, DevicePointer mean, DevicePointer rstd, DevicePointer runningMean, DevicePointer runningVar, StateBuffer numBatchesTracked,
        float momentum, float eps, bool training)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentNullException.ThrowIfNull(numBatchesTracked);
        if (training)
        {
            if ((long)batch * spatial <= 1)
                throw new ArgumentException($"batch_norm in training needs more than one value per channel, but the input is [{batch}, {channels}, {spatial}] (PyTorch raises the same).", nameof(x));
            var statistics = gpu.Kernel("md_batchnorm_statistics");
            var s = statistics.Arguments();
            s.Int("batch", batch);
            s.Int("channels", channels);
            s.Int("spatial", spatial);
            s.Float("momentum", momentum);
            s.Float("eps", eps);
            s.ReadsActivation("x", x);
            s.Writes("mean", mean);
            s.Writes("rstd", rstd);
            s.Writes("running_mean", runningMean);
            s.Writes("running_var", runningVar);
            statistics.Launch(Grid.Blocks(channels), Grid.Block, ref s);
            numBatchesTracked.Count++;
        }
        var apply = gpu.Kernel("md_batchnorm_apply");
        var a = apply.Arguments();
        a.Int("batch", batch);
        a.Int("channels", channels);
        a.Int("spatial", spatial);
        a.Float("eps", eps);
        a.Flag("training", training);
        a.ReadsActivation("x", x);
        a.Reads("weight", weight);
        a.Reads("bias", bias);
        a.Reads("mean", mean);
        a.Reads("rstd", rstd);
        a.Reads("running_mean", runningMean);
        a.Reads("running_var", runningVar);
        a.WritesActivation("y", y);
        apply.Launch(Grid.Elements((long)batch * channels * spatial), Grid.Block, ref a);
    }

    /// <summary><c>md_batchnorm_backward</c>, one block per channel: dWeight, dBias (+)= their channel sums, then dx (+)= … when not null.</summary>
    public static void Backward(LayerContext gpu, int batch, int channels, int spatial, DevicePointer x, DevicePointer weight,
        DevicePointer mean, DevicePointer rstd, DevicePointer dy,
        DevicePointer dx, DevicePointer dWeight, DevicePointer dBias,
        bool accumulateInputGradient = false, bool accumulateParameterGradients = false)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        var backward = gpu.Kernel("md_batchnorm_backward");
        var a = backward.Arguments();
        a.Int("batch", batch);
        a.Int("channels", channels);
        a.Int("spatial", spatial);
        a.ReadsActivation("x", x);
        a.Reads("weight", weight);
        a.Reads("mean", mean);
        a.Reads("rstd", rstd);
        a.Reads("dy", dy);
        a.Writes("dx", dx);
        a.Writes("dweight", dWeight);
        a.Writes("dbias", dBias);
        a.Flag("accumulate_input", accumulateInputGradient);
        a.Flag("accumulate_parameters", accumulateParameterGradients);
        backward.Launch(Grid.Blocks(channels), Grid.Block, ref a);
    }
}
