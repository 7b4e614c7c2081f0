using System.Collections.Generic;

namespace ModelDsl.Runtime;

/// <summary>
/// What every generated model with an optimizer offers beside its typed <c>TrainStep</c>/<c>ComputeGradients</c>
/// (whose argument types differ per model): its parameters, the optimizer step, and checkpoints. Data-parallel training
/// (<see cref="Distributed.DataParallel"/>) works through it, between the model's own <c>ComputeGradients</c> and
/// <see cref="ApplyGradients"/>.
/// </summary>
public interface ITrainableModel
{
    /// <summary>Every parameter in checkpoint order; <c>Gradient</c> holds the last computed gradients.</summary>
    IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The seed of the initial weights and of the dropout masks.</summary>
    ulong Seed { get; }

    /// <summary>Optimizer steps taken.</summary>
    int Step { get; }

    /// <summary>The optimizer's learning rate.</summary>
    float LearningRate { get; set; }

    /// <summary>The dropout stream of this replica: 0 in a single process, the rank in data-parallel training.</summary>
    int DropoutStream { get; set; }

    /// <summary>One optimizer step with the parameters' current <c>Gradient</c>s.</summary>
    void ApplyGradients();

    /// <summary>Writes parameters, optimizer state and step atomically (docs/checkpoints.md).</summary>
    void Save(string path);

    /// <summary>Reads a checkpoint written by <see cref="Save"/>.</summary>
    void Load(string path);
}
