using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Ops;
using ModelDsl.Syntax;

namespace ModelDsl.Binding
{
    // recompute Block, ... (docs/language.md "Activation recomputation"): which block uses the backward pass recomputes.
    internal sealed partial class ModelBinder
    {
        /// <summary>The blocks the model's <c>recompute</c> statements name (checked ones only), by name, with the name's place in the statement.</summary>
        private readonly Dictionary<string, Identifier> _recompute = new Dictionary<string, Identifier>(System.StringComparer.Ordinal);

        /// <summary>
        /// The instances expanded so far of the blocks in <see cref="_recompute"/>, in forward order, each with the range of
        /// <see cref="_nodes"/> it added: nodes, not objects, since a binding renames its last node's output by replacing it.
        /// </summary>
        private readonly List<(string Block, string Path, Text.TextSpan Use, int First, int Count)> _recomputed = new List<(string, string, Text.TextSpan, int, int)>();

        /// <summary>The recomputed instances with their final nodes, for the graph.</summary>
        private IReadOnlyList<RecomputeInfo> RecomputedInstances() =>
            _recomputed.Select(r => new RecomputeInfo(r.Block, r.Path, r.Use, _recompute[r.Block].Span, _nodes.GetRange(r.First, r.Count))).ToList();

        /// <summary>Every block the model expanded, at any depth.</summary>
        private readonly HashSet<string> _usedBlocks = new HashSet<string>(System.StringComparer.Ordinal);

        /// <summary>How many recomputed instances the expansion is inside (an instance within one is part of it).</summary>
        private int _recomputing;

        /// <summary>
        /// Read before the body is bound, since a <c>recompute</c> statement may follow the chain that uses the block: each name must
        /// be a block of the file (MDL0126; a layer or an unknown name says so), once (MDL0204).
        /// </summary>
        private void DeclareRecompute(IReadOnlyList<RecomputeSyntax> statements)
        {
            var lines = new Dictionary<string, int>(System.StringComparer.Ordinal);
            foreach (var statement in statements)
            {
                foreach (var name in statement.Blocks.Where(b => b is not null && !string.IsNullOrEmpty(b.Text)))
                {
                    if (lines.TryGetValue(name.Text, out int first))
                    {
                        Diagnostics.ReportDuplicateDeclaration(name.Span, $"recompute of block '{name.Text}'", first);
                        continue;
                    }
                    lines[name.Text] = _file.Line(name.Span);
                    if (_file.Blocks.ContainsKey(name.Text))
                    {
                        _recompute[name.Text] = name;
                        continue;
                    }
                    string what = OpCatalog.TryGet(name.Text, out _) ? "a layer, not a block" : "not a block";
                    string blocks = _file.Blocks.Count == 0 ? "the file declares no block" : "blocks: " + string.Join(", ", _file.Blocks.Keys.OrderBy(k => k, System.StringComparer.Ordinal));
                    string? suggestion = OpCatalog.TryGet(name.Text, out _) ? null : Suggest.Closest(name.Text, _file.Blocks.Keys, _file.Suggestions);
                    Diagnostics.ReportRecomputeNotABlock(name.Span, name.Text, what, suggestion, blocks);
                }
            }
        }

        /// <summary>
        /// After the body: each named block must be used (MDL0126), the model must train (a loss: there is no backward pass
        /// otherwise), and no op of an instance may keep state across calls (batch_norm's running statistics would be updated
        /// by the recomputation too): MDL0223, at the name in the statement, naming the op and its line.
        /// </summary>
        private void CheckRecompute(string model, bool hasLoss)
        {
            foreach (var pair in _recompute.OrderBy(p => p.Value.Span.Start))
            {
                string name = pair.Key;
                var declared = pair.Value;
                var instances = RecomputedInstances().Where(r => r.Block == name).ToList();
                if (instances.Count == 0)
                {
                    // A block used only inside another recomputed block is part of that one's recomputation: not unused.
                    if (!_usedBlocks.Contains(name)) Diagnostics.ReportRecomputeUnusedBlock(declared.Span, name, model);
                    continue;
                }
                if (!hasLoss)
                {
                    Diagnostics.ReportNotRecomputable(declared.Span, name, $"model '{model}' has no loss, so there is no backward pass to recompute it in");
                    continue;
                }
                var stateful = instances.SelectMany(r => r.Nodes).FirstOrDefault(n => n.States.Count > 0);
                if (stateful is not null)
                {
                    Diagnostics.ReportNotRecomputable(declared.Span, name,
                        $"its {stateful.Kind.ToSource()} '{stateful.LayerPath}' (line {_file.Line(stateful.Span)}) updates its running statistics in every training forward pass, and the recomputation would update them twice");
                }
            }
        }
    }
}
