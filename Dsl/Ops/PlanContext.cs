using System;
using System.Collections.Generic;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Ops
{
    /// <summary>
    /// What an op's planning sees of the plan being built (<c>Autodiff/PlanBuilder</c> implements it): the buffers of
    /// values, gradients and parameters, new buffers of its own, and the bookkeeping that decides whether a gradient
    /// kernel assigns (the first write of the step) or adds.
    /// </summary>
    internal interface IPlanContext
    {
        /// <summary>The model's precision (its <c>precision</c> statement; FP32 without one): kernels that have a reduced-precision GPU variant choose it by this.</summary>
        Precision Precision { get; }

        /// <summary>The buffer holding a value (a view aliases its source's).</summary>
        PlanBuffer Value(TensorValue value);

        /// <summary>The buffer holding d loss / d value.</summary>
        PlanBuffer Gradient(TensorValue value);

        PlanBuffer Parameter(ParameterInfo parameter);

        PlanBuffer ParameterGradient(ParameterInfo parameter);

        /// <summary>The buffer of an f32 layer state (<see cref="StateInfo"/>, not a counter): read and updated by forward kernels only.</summary>
        PlanBuffer State(StateInfo state);

        /// <summary>A buffer of the op's own (saved state, working memory, an intermediate), named after <paramref name="name"/>.</summary>
        PlanBuffer NewBuffer(string name, BufferKind kind, Shape shape, DType dtype);

        /// <summary>True when the loss needs the gradient of <paramref name="value"/> (backward only).</summary>
        bool NeedsGradient(TensorValue value);

        /// <summary>Records a write to a gradient; true for the first of the step (assign), false after (add).</summary>
        bool FirstWrite(PlanBuffer target);

        /// <summary>A gradient output that assigns on the first write of the step and adds after.</summary>
        GradientOutput Contribute(PlanBuffer target);

        /// <summary>A column sum (a bias gradient) that assigns on the first write of the step and adds after.</summary>
        ColumnSumOutput ContributeSum(PlanBuffer target, Expr value);

        /// <summary>A kernel name unique in the plan: <c>fwd_3_layer_norm</c>.</summary>
        string KernelName(string phase, string what);

        /// <summary>The op's .model span and description, for the kernel's header comment.</summary>
        Origin Origin(OpNode op);

        /// <summary>A fused elementwise loop over [rows, cols].</summary>
        ElementwiseKernel Elementwise(string name, OpNode op, Dim rows, Dim cols, IReadOnlyList<ElementwiseOutput> outputs, IReadOnlyList<ColumnSumOutput> sums);

        /// <summary>An entry check: the symbolic <paramref name="size"/> must not exceed <paramref name="maximum"/>.</summary>
        void LimitSize(Dim size, long maximum, Origin origin, string layer);

        /// <summary>An entry check: the ids in an input buffer must lie in [0, <paramref name="num"/>).</summary>
        void CheckIds(PlanBuffer ids, Dim count, long num, Origin origin, string layer);

        /// <summary>The dropout slot of an op that draws a dropout mask in its kernels (attention(dropout=p)): its seed's index.</summary>
        int DropoutSlot(OpNode op);

        /// <summary>State an op keeps between its forward and backward planning (attention's context buffers), made once.</summary>
        T Memo<T>(OpNode op, string what, Func<T> create) where T : class;
    }
}
