using System.Collections.Generic;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Ops
{
    /// <summary>
    /// An op that ends in a matrix product <c>Y[M, out] = X[M, in]·Wᵀ (+ bias)</c> (dense; attention's out_proj). The
    /// planner writes the product's GEMMs (forward <c>Y = X·Wᵀ</c>; backward <c>dW (+)= dYᵀ·X</c>, <c>dX (+)= dY·W</c>) and
    /// fuses the bias with the elementwise chain after it, so the chain costs no pass over memory of its own. The rule
    /// says which parameters are W and the bias, and plans whatever comes before X (attention's core).
    /// </summary>
    internal abstract class HeadRule<T> : OpRule<T>, IHeadRule where T : OpAttributes
    {
        protected HeadRule(string name, OpKind kind, Signature signature)
            : base(name, kind, signature)
        {
        }

        public sealed override Planning Planning => Planning.Head;

        /// <summary>What the product's kernels are called: <c>dense</c>, <c>attention_out_proj</c>.</summary>
        public abstract string ProductName { get; }

        /// <summary>W [out, in] of the product (a tied weight included).</summary>
        public abstract ParameterInfo Weight(OpNode op);

        /// <summary>The bias the fused loop adds; null without one.</summary>
        public abstract ParameterInfo? Bias(OpNode op);

        /// <summary>Forward: X of the product, planning the kernels that compute it (attention: in_proj and the core) into <paramref name="kernels"/>.</summary>
        public virtual PlanBuffer PlanProductInput(IPlanContext p, OpNode op, List<Kernel> kernels) => p.Value(op.Inputs[0]);

        /// <summary>Backward: where dX goes, or null when nothing needs it.</summary>
        public virtual PlanBuffer? ProductInputGradient(IPlanContext p, OpNode op) => p.NeedsGradient(op.Inputs[0]) ? p.Gradient(op.Inputs[0]) : null;

        /// <summary>Backward below the product, once dX is complete (attention: the core's and in_proj's backward).</summary>
        public virtual IEnumerable<Kernel> PlanBackwardBelowProduct(IPlanContext p, OpNode op) => new Kernel[0];
    }

    /// <summary>The head part of a rule, as the planner calls it (<see cref="HeadRule{T}"/> documents each member).</summary>
    internal interface IHeadRule
    {
        string ProductName { get; }
        ParameterInfo Weight(OpNode op);
        ParameterInfo? Bias(OpNode op);
        PlanBuffer PlanProductInput(IPlanContext p, OpNode op, List<Kernel> kernels);
        PlanBuffer? ProductInputGradient(IPlanContext p, OpNode op);
        IEnumerable<Kernel> PlanBackwardBelowProduct(IPlanContext p, OpNode op);
    }
}
