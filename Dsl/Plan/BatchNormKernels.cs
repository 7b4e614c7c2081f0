using System.Collections.Generic;
using ModelDsl.Shapes;

namespace ModelDsl.Plan
{
    // batch_norm's kernels (Dsl/Ops/BatchNorm.cs): the input seen as [Batch, Channels, Spatial] (Spatial = 1 for [B, C],
    // L for [B, C, L], H·W for [N, C, H, W]); statistics per channel over Batch·Spatial values.

    /// <summary>
    /// <c>y = (x − mean)·rstd·weight + bias</c> per channel: in training from the batch's statistics (saved in
    /// <see cref="Mean"/> and <see cref="Rstd"/> [C] for the backward, and folded into the running statistics), at
    /// inference from <see cref="RunningMean"/> and <see cref="RunningVar"/> (layer state, <see cref="BufferKind.State"/>).
    /// </summary>
    public sealed class BatchNormKernel : Kernel
    {
        public BatchNormKernel(string name, IReadOnlyList<Origin> origins, Dim batch, long channels, Dim spatial, float momentum, float epsilon,
            PlanBuffer input, PlanBuffer? weight, PlanBuffer? bias, PlanBuffer output, PlanBuffer mean, PlanBuffer rstd,
            PlanBuffer runningMean, PlanBuffer runningVar, IR.StateInfo numBatchesTracked)
            : base(name, origins)
        {
            Batch = batch;
            Channels = channels;
            Spatial = spatial;
            Momentum = momentum;
            Epsilon = epsilon;
            Input = input;
            Weight = weight;
            Bias = bias;
            Output = output;
            Mean = mean;
            Rstd = rstd;
            RunningMean = runningMean;
            RunningVar = runningVar;
            NumBatchesTracked = numBatchesTracked;
        }

        public Dim Batch { get; }
        public long Channels { get; }

        /// <summary>The positions per channel and sample: 1, L or H·W (symbolic when those are).</summary>
        public Dim Spatial { get; }

        public float Momentum { get; }
        public float Epsilon { get; }
        public PlanBuffer Input { get; }

        /// <summary>Null with affine=false (and <see cref="Bias"/> with it).</summary>
        public PlanBuffer? Weight { get; }
        public PlanBuffer? Bias { get; }
        public PlanBuffer Output { get; }
        public PlanBuffer Mean { get; }
        public PlanBuffer Rstd { get; }
        public PlanBuffer RunningMean { get; }
        public PlanBuffer RunningVar { get; }

        /// <summary>The host-side counter the training forward increments.</summary>
        public IR.StateInfo NumBatchesTracked { get; }
    }

    /// <summary>
    /// From the forward's input and its saved batch statistics: <c>dx (+)= weight·rstd·(dy − mean(dy) − x̂·mean(dy·x̂))</c>,
    /// <c>dWeight (+)= Σ dy·x̂</c>, <c>dBias (+)= Σ dy</c> per channel.
    /// </summary>
    public sealed class BatchNormBackwardKernel : Kernel
    {
        public BatchNormBackwardKernel(string name, IReadOnlyList<Origin> origins, BatchNormKernel forward, PlanBuffer outputGradient,
            GradientOutput? inputGradient, GradientOutput? weightGradient, GradientOutput? biasGradient)
            : base(name, origins)
        {
            Forward = forward;
            OutputGradient = outputGradient;
            InputGradient = inputGradient;
            WeightGradient = weightGradient;
            BiasGradient = biasGradient;
        }

        /// <summary>The forward kernel: its sizes, input, weight and saved <c>Mean</c>/<c>Rstd</c> are read here.</summary>
        public BatchNormKernel Forward { get; }
        public PlanBuffer OutputGradient { get; }
        public GradientOutput? InputGradient { get; }
        public GradientOutput? WeightGradient { get; }
        public GradientOutput? BiasGradient { get; }
    }
}
