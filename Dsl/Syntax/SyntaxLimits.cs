using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.Text;

namespace ModelDsl.Syntax
{
    /// <summary>
    /// Checks run on each parsed statement, config entry and parameter default: number literals in range
    /// (MDL0002, the item is kept) and the depth of the expression tree (MDL0003, the item is replaced). The
    /// grammar builds <c>1+1+...</c> with a loop, so the tree can be 100,000 levels deep; later stages walk trees
    /// recursively, so such an item never leaves the parser. The walk itself uses an explicit stack.
    /// </summary>
    internal static class SyntaxLimits
    {
        /// <summary>The deepest expression tree accepted (counting expression nodes from the statement's value down).</summary>
        public const int MaxExpressionDepth = 256;

        /// <summary>Reports what is wrong in <paramref name="node"/>; false when it is too deep to keep.</summary>
        public static bool Check(SyntaxNode node, ParseContext context)
        {
            var pending = new Stack<(SyntaxNode Node, int Depth)>();
            pending.Push((node, 0));
            while (pending.Count > 0)
            {
                var (current, depth) = pending.Pop();
                if (current is ExpressionSyntax) depth++;
                if (depth > MaxExpressionDepth)
                {
                    context.Diagnostics.ReportExpressionTooDeep(FirstToken(current, context.Text.Text), MaxExpressionDepth);
                    return false;
                }
                if (current is NumberSyntax number) CheckNumber(number, context);
                // Pushed last to first, so children are visited in source order and the first report is the leftmost.
                foreach (var child in Children(current).Reverse())
                {
                    if (child != null) pending.Push((child, depth));
                }
            }
            return true;
        }

        private static void CheckNumber(NumberSyntax number, ParseContext context)
        {
            bool valid = number.IsInteger
                ? long.TryParse(number.Text, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                : !double.IsInfinity(number.Value) && !double.IsNaN(number.Value);
            if (!valid) context.Diagnostics.ReportInvalidNumber(number.Span, number.Text, number.IsInteger);
        }

        /// <summary>The first token of the node found too deep (for <c>1+1+...</c>, the start of the expression; for <c>----x</c>, the 257th <c>-</c>).</summary>
        private static TextSpan FirstToken(SyntaxNode node, string text) => Recovery.Describe(text, node.Span.Start).Span;

        private static IEnumerable<SyntaxNode?> Children(SyntaxNode node)
        {
            switch (node)
            {
                case MemberAccessSyntax member: return new[] { member.Target };
                case BinarySyntax binary: return new[] { binary.Left, binary.Right };
                case NegateSyntax negate: return new[] { negate.Operand };
                case TupleSyntax tuple: return tuple.Elements;
                case ListSyntax list: return list.Elements;
                case CallSyntax call: return call.Arguments;
                case ArgumentSyntax argument: return new[] { argument.Value };
                case ChainSyntax chain: return Prepend(chain.Source, chain.Stages);
                case RepeatSyntax repeat: return new[] { repeat.Count, repeat.Stage };
                case InputSyntax input: return input.Type.Dimensions;
                case BindingSyntax binding: return new[] { binding.Value };
                case OutputSyntax output: return new[] { output.Value };
                case LossSyntax loss: return new[] { loss.Call };
                case OptimizerSyntax optimizer: return new[] { optimizer.Call };
                case InitSyntax init: return new[] { init.Initializer };
                case ControlSyntax control: return new[] { control.Call };
                case FreezeSyntax freeze: return freeze.Patterns;
                case RecomputeSyntax recompute: return recompute.Blocks;
                case GroupSyntax group: return new SyntaxNode[] { group.Options }.Concat(group.Patterns);
                case PretrainedSyntax pretrained: return pretrained.Entries;
                case MapEntrySyntax entry: return new SyntaxNode[] { entry.Target, entry.Source };
                case MapCallSyntax mapCall: return mapCall.Arguments;
                case ReturnSyntax @return: return new[] { @return.Value };
                case ConfigEntrySyntax entry: return new[] { entry.Value };
                case BlockParameterSyntax parameter: return parameter.Type is null ? new[] { parameter.Default } : parameter.Type.Dimensions.Concat(new[] { parameter.Default });
                default: return new SyntaxNode[0];
            }
        }

        private static IEnumerable<SyntaxNode> Prepend(SyntaxNode first, IEnumerable<SyntaxNode> rest)
        {
            yield return first;
            foreach (var node in rest) yield return node;
        }
    }
}
