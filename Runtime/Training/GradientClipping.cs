using System;
using System.Collections.Generic;
using System.Numerics.Tensors;

namespace ModelDsl.Runtime;

/// <summary>
/// <c>clip_grad_norm(max_norm)</c> in a .model file: torch.nn.utils.clip_grad_norm_ with the 2-norm. The global norm is
/// the norm of all the gradients together, <c>√Σ‖g‖²</c>; when it exceeds max_norm every gradient is multiplied by
/// <c>max_norm / (norm + 1e-6)</c>, so the clipped global norm is max_norm (less by the 1e-6). PyTorch multiplies by the
/// coefficient clamped to 1 every time; multiplying by 1 changes nothing, so here a gradient below the bound is not touched.
/// </summary>
public static class GradientClipping
{
    /// <summary>PyTorch's guard against a zero norm, added to the norm in the coefficient.</summary>
    public const float Epsilon = 1e-6f;

    /// <summary>
    /// The factor clipping multiplies every gradient by: <c>max_norm / (norm + 1e-6)</c> in float as PyTorch computes it,
    /// at most 1. A NaN norm gives NaN (PyTorch's error_if_nonfinite=False: the gradients become NaN, and the model's
    /// non-finite check has refused such a step before the update when it is on).
    /// </summary>
    public static float Coefficient(double globalNorm, float maxNorm)
    {
        float coefficient = maxNorm / ((float)globalNorm + Epsilon);
        return coefficient < 1f || float.IsNaN(coefficient) ? coefficient : 1f;
    }

    /// <summary>
    /// Clips the gradients of <paramref name="parameters"/> to a global norm of at most <paramref name="maxNorm"/> and
    /// returns the global norm before clipping (what torch.nn.utils.clip_grad_norm_ returns). Σg² is accumulated in
    /// double; nothing is allocated.
    /// </summary>
    public static double ClipByGlobalNorm(IReadOnlyList<Parameter> parameters, float maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double sum = 0;
        for (int k = 0; k < parameters.Count; k++) sum += FiniteScan.SumOfSquares(parameters[k].Gradient);
        double norm = Math.Sqrt(sum);
        float coefficient = Coefficient(norm, maxNorm);
        if (coefficient != 1f)
        {
            for (int k = 0; k < parameters.Count; k++)
            {
                var g = parameters[k].Gradient;
                TensorPrimitives.Multiply(g, coefficient, g);
            }
        }
        return norm;
    }
}
