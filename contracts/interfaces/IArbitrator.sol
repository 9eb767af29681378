// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IArbitrator
/// @notice Settles a disagreement between two parties who each claimed a different output for the same
/// request (spML: the assigned operator A and the sampler B). The client (a verification module) opens a
/// dispute with both claims (output hashes) and later reads the ruling: the output hash the arbitrator
/// found correct, or no decision. How the truth is found is the arbitrator's business: a committee of
/// staked validators re-executing and voting (SamplingCommittee), or deterministic re-execution through
/// the opML bisection game. An arbitrator slashes only the stakes it locked itself (its validators); the
/// client slashes the parties according to the ruling.
interface IArbitrator {
    /// @notice The outcome of a dispute.
    /// @param decided False when the arbitrator could not reach a decision (no quorum, no validators).
    /// @param outputHash keccak256 of the output found correct (meaningful when decided); it may match
    /// neither claim when both parties were wrong.
    /// @param rewarded Accounts the client should reward out of its fee for having found the truth
    /// (the validators of the majority); may be empty.
    struct Ruling {
        bool decided;
        bytes32 outputHash;
        address[] rewarded;
    }

    /// @notice Emitted when a client opens a dispute.
    event DisputeOpened(
        uint256 indexed disputeId,
        address indexed client,
        uint256 indexed requestId,
        uint256 modelId,
        bytes32 inputHash,
        bytes32[2] claims
    );

    /// @notice Opens a dispute; only clients authorised by the arbitrator's governance.
    /// @param requestId The market request the outputs answer (validators read its input from the market).
    /// @param modelId The model to re-execute.
    /// @param inputHash keccak256 of the request's input.
    /// @param parties The two parties (never drawn as their own judges).
    /// @param claims keccak256 of each party's output, in the order of `parties`.
    /// @param requester The requester of the disputed request: never a judge of it, never paid a slash.
    /// @return disputeId The arbitrator's id for the dispute.
    function openDispute(
        uint256 requestId,
        uint256 modelId,
        bytes32 inputHash,
        address[2] calldata parties,
        bytes32[2] calldata claims,
        address requester
    ) external returns (uint256 disputeId);

    /// @notice Whether the dispute has a ruling (decided or not).
    function isResolved(uint256 disputeId) external view returns (bool);

    /// @notice The ruling of a resolved dispute; reverts while unresolved.
    function ruling(uint256 disputeId) external view returns (Ruling memory);

    /// @notice Upper bound, in seconds from `openDispute`, on how long a ruling takes when every
    /// participant acts on time. Clients wait at least this long before treating a dispute as undecided.
    function maxResolutionTime() external view returns (uint64);

    /// @notice Whether the arbitrator can rule on disputes of `modelId` (clients refuse configs otherwise).
    function supportsModel(uint256 modelId) external view returns (bool);
}
