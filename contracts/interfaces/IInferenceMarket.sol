// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IActiveClock} from "./IActiveClock.sol";
import {IModelRegistry} from "./IModelRegistry.sol";
import {IStakingVault} from "./IStakingVault.sol";

/// @title IInferenceMarket
/// @notice Escrow and lifecycle of paid inference requests; the single entry point for users and
/// consumer contracts. A request is created with its payment escrowed, claimed by a staked operator
/// (which locks part of its stake), answered through the request's verification module, and finalized
/// once the module says the verdict is final: the operator is paid (pull), the protocol takes its fee,
/// module rewards are paid, and the consumer's callback runs with a bounded gas limit. A request whose
/// module's verdict is final on submission (IInstantVerificationModule: zk) can instead be settled in one
/// transaction by any operator serving the model (`fulfill`, or `fulfillBatch` for one proof covering
/// several requests). Past the deadline an unanswered request is refunded. Nothing a consumer's callback
/// does can block settlement.
///
/// What is stored: a request keeps three words (status, deadline, terms id, operator, callback gas limit;
/// requester, claim deadline; a commitment) plus its callback address when it has one. Everything it is
/// judged and paid under (module, model, mode, token, price, verification fee, operator stake, mode config)
/// is a terms snapshot stored once and shared by every request made under the same terms. The commitment is
/// the input hash until the request is finalized and the result hash after: settling writes no fresh
/// storage slot. The input bytes are only emitted (RequestCreated, with the input hash); the settled output
/// is stored as its keccak256 (`resultHashOf`) and emitted in RequestFinalized and delivered to the
/// callback. Deadlines are stored in 40 bits (a deadline past 2^40 - 1, about the year 36812, is refused)
/// and terms ids in 24 bits.
///
/// Every stored deadline (request deadline, claim deadline, and the modules' windows and clocks) is in
/// active time (IActiveClock): unix time minus all time the market has been paused. While paused no clock
/// advances, so no one can be slashed or run out of time for a pause they could not act in; withdrawals
/// of owed funds keep working.
interface IInferenceMarket is IActiveClock {
    /// @notice Lifecycle of a request. Open -> Claimed -> Submitted -> Finalized, with Claimed -> Open on a
    /// no-show and Open/Claimed -> Refunded after the deadline; Open -> Finalized (and Claimed -> Finalized,
    /// by the claimant) in one transaction for an instant module (fulfill, fulfillBatch).
    enum Status {
        None,
        Open,
        Claimed,
        Submitted,
        Finalized,
        Refunded
    }

    /// @notice What a requester asks for.
    /// @param modelId Registered model.
    /// @param mode Verification mode id (see Modes).
    /// @param token Payment token, address(0) for ETH.
    /// @param maxFee Most the requester will pay (price + verification fee); ETH requests send exactly this.
    /// @param deadline Unix time after which an unanswered request can be refunded (stored in active time:
    /// later pauses extend it by their length).
    /// @param input The input inline (its keccak256 becomes the input hash), or empty when given by hash + URI.
    /// @param inputHash keccak256 of the input when it is not inline (must match when both are given).
    /// @param inputURI Where the input can be fetched when it is not inline.
    /// @param callback Contract to call with the verified result, or address(0).
    /// @param callbackGasLimit Gas forwarded to the callback.
    /// @param termsHash `termsHashOf(modelId, mode)` as the requester read it: the stake each claim locks and
    /// the mode config (verifier, windows, bonds, arbitrator), or zero to accept whatever is current when the
    /// request is mined. Pinning it stops a model owner from swapping either in front of the request.
    struct RequestParams {
        uint256 modelId;
        uint8 mode;
        address token;
        uint256 maxFee;
        uint64 deadline;
        bytes input;
        bytes32 inputHash;
        string inputURI;
        address callback;
        uint32 callbackGasLimit;
        bytes32 termsHash;
    }

    /// @notice A request as the market knows it (its stored words joined with its terms snapshot).
    /// @param operator The claimant while Claimed or Submitted; once Finalized by fulfill, the fulfiller.
    /// @param price Operator price locked at creation (protocol fee included).
    /// @param verificationFee Module fee locked at creation.
    /// @param module The verification module that judges this request, fixed at creation.
    /// @param deadline Active time (see IActiveClock) after which an unanswered request can be refunded.
    /// @param claimDeadline Active time by which the claiming operator must submit.
    /// @param inputHash keccak256 of the input while the request is not finalized; zero once it is (its word then
    /// holds the result hash, `resultHashOf`; the input hash stays in RequestCreated).
    struct Request {
        address requester;
        uint64 deadline;
        uint8 mode;
        Status status;
        address operator;
        uint64 claimDeadline;
        address token;
        address callback;
        uint32 callbackGasLimit;
        address module;
        uint256 modelId;
        uint256 price;
        uint256 verificationFee;
        uint256 operatorStake;
        bytes32 inputHash;
    }

    /// @notice Emitted when a request is created and its payment escrowed.
    event RequestCreated(
        uint256 indexed requestId,
        uint256 indexed modelId,
        address indexed requester,
        uint8 mode,
        address token,
        uint256 price,
        uint256 verificationFee,
        uint64 deadline,
        bytes32 inputHash,
        bytes input,
        string inputURI
    );
    /// @notice Emitted when an operator claims a request and its stake is locked.
    event RequestClaimed(uint256 indexed requestId, address indexed operator, uint64 claimDeadline);
    /// @notice Emitted when a claimed request's operator missed the claim window and it reopened.
    event RequestReopened(uint256 indexed requestId, address indexed operator, uint256 slashed);
    /// @notice Emitted when the module accepted a submission.
    event ResultSubmitted(uint256 indexed requestId, address indexed operator, bytes output);
    /// @notice Emitted when a request settles with a verified result.
    event RequestFinalized(
        uint256 indexed requestId,
        address indexed payee,
        bytes output,
        uint256 operatorPayment,
        uint256 protocolFee
    );
    /// @notice Emitted when a request settles rejected (the module refused the result).
    event RequestRejected(uint256 indexed requestId, address indexed operator, uint256 slashed);
    /// @notice Emitted when a request is refunded after its deadline.
    event RequestRefunded(uint256 indexed requestId, address indexed requester, uint256 amount);
    /// @notice Emitted when the consumer callback ran (success or not).
    event CallbackExecuted(uint256 indexed requestId, address indexed callback, bool success);
    /// @notice Emitted when an amount becomes withdrawable by `account`.
    event PaymentCredited(address indexed account, address indexed token, uint256 amount);
    /// @notice Emitted when `account` withdraws what it is owed.
    event PaymentWithdrawn(address indexed account, address indexed token, uint256 amount);
    /// @notice Emitted when governance sets the protocol fee (basis points of the price).
    event ProtocolFeeSet(uint16 bps);
    /// @notice Emitted when governance sets the treasury.
    event TreasurySet(address indexed treasury);
    /// @notice Emitted when governance sets the claim window (seconds).
    event ClaimWindowSet(uint64 window);
    /// @notice Emitted when governance sets the no-show slash (basis points of the lock).
    event NoShowSlashSet(uint16 bps);
    /// @notice Emitted when governance sets the highest callback gas limit.
    event MaxCallbackGasSet(uint32 gas);
    /// @notice Emitted when governance allows or stops a payment token.
    event TokenAllowed(address indexed token, bool allowed);
    /// @notice Emitted when a pause ends; every active-time deadline moved `duration` seconds later.
    event PauseEnded(uint64 duration, uint64 totalPaused);
    /// @notice Emitted when the first request under new terms stores their snapshot (`instant`: the module
    /// settles on submission).
    event TermsRecorded(
        uint32 indexed termsId,
        uint256 indexed modelId,
        uint8 mode,
        address token,
        address module,
        bool instant,
        bytes32 configHash
    );

    /// @notice The request id does not exist.
    error InferenceMarketUnknownRequest(uint256 requestId);
    /// @notice The request is not in the status the call needs.
    error InferenceMarketWrongStatus(uint256 requestId, Status status);
    /// @notice The payment token is not allowed by the market or not priced by the model.
    error InferenceMarketUnsupportedToken(uint256 modelId, address token);
    /// @notice maxFee does not cover price + verification fee.
    error InferenceMarketFeeTooLow(uint256 maxFee, uint256 required);
    /// @notice The stake or mode config changed since the requester read them.
    error InferenceMarketTermsChanged(uint256 modelId, uint8 mode, bytes32 expected, bytes32 current);
    /// @notice ETH sent differs from what the request needs.
    error InferenceMarketWrongValue(uint256 sent, uint256 expected);
    /// @notice The deadline is not in the future.
    error InferenceMarketDeadlineInPast(uint64 deadline, uint256 nowTimestamp);
    /// @notice The input hash does not match the inline input, or neither was given.
    error InferenceMarketBadInput(bytes32 inputHash, bytes32 computed);
    /// @notice The callback gas limit exceeds the market maximum, or is given without a callback.
    error InferenceMarketBadCallback(address callback, uint32 gasLimit, uint32 maxGas);
    /// @notice The caller is not the operator assigned to the request.
    error InferenceMarketWrongOperator(uint256 requestId, address caller, address operator);
    /// @notice The caller does not serve the model as an operator.
    error InferenceMarketNotServing(uint256 modelId, address caller);
    /// @notice The claim window is over (submit) or not yet over (reopen).
    error InferenceMarketClaimWindow(uint256 requestId, uint64 claimDeadline, uint256 nowTimestamp);
    /// @notice The request's deadline has passed (claim, submit) or has not (refund).
    error InferenceMarketDeadline(uint256 requestId, uint64 deadline, uint256 nowTimestamp);
    /// @notice The module has not reached a final verdict.
    error InferenceMarketNotFinal(uint256 requestId);
    /// @notice The module asked for more rewards than the verification fee holds.
    error InferenceMarketRewardsExceedFee(uint256 requestId, uint256 rewards, uint256 fee);
    /// @notice The module asked to slash more than the operator's lock.
    error InferenceMarketSlashExceedsStake(uint256 requestId, uint256 slash, uint256 stake);
    /// @notice Too little gas left to give the callback its full limit.
    error InferenceMarketInsufficientGas(uint256 gasLeft, uint256 needed);
    /// @notice Nothing owed to the caller in this token.
    error InferenceMarketNothingOwed(address account, address token);
    /// @notice The token moved a different amount than asked (fee-on-transfer tokens are not supported).
    error InferenceMarketTransferMismatch(uint256 expected, uint256 received);
    /// @notice A governance parameter is out of bounds.
    error InferenceMarketInvalidParameter(bytes32 name, uint256 value);
    /// @notice Zero address given where an account is required.
    error InferenceMarketZeroAddress();
    /// @notice The request's module does not settle on submission (not an IInstantVerificationModule).
    error InferenceMarketNotInstant(uint256 requestId, address module);
    /// @notice fulfillBatch was given no request.
    error InferenceMarketEmptyBatch();
    /// @notice Batch request ids must be strictly ascending (so each appears once).
    error InferenceMarketBatchOrder(uint256 index, uint256 previousId, uint256 requestId);
    /// @notice A batch request is judged by another module, model, mode or mode config than the first.
    error InferenceMarketBatchMismatch(uint256 requestId, uint256 firstRequestId);
    /// @notice The module returned another number of outputs than the batch has requests.
    error InferenceMarketBatchOutputs(uint256 requests, uint256 outputs);

    /// @notice Creates a request and escrows price + verification fee.
    /// @return requestId The new request's id (ids start at 1).
    function createRequest(RequestParams calldata params) external payable returns (uint256 requestId);

    /// @notice Assigns the caller (a staked operator serving the model) and locks its stake.
    function claim(uint256 requestId) external;

    /// @notice The assigned operator submits its result; the request's module checks it.
    function submitResult(uint256 requestId, bytes calldata output, bytes calldata proof) external;

    /// @notice Settles a request whose module verdict is final. Anyone may call.
    function finalize(uint256 requestId) external;

    /// @notice Answers and settles a request of an instant module (zk) in one transaction: the module checks
    /// `output` and `proof` (reverting to refuse), the caller is paid the price less the protocol fee, the
    /// output hash is stored and the callback runs. The caller must serve the model as an operator
    /// (StakingVault.setService) when the request is Open, or be its claimant inside the claim window when
    /// it is Claimed (its lock is released). Refused while paused and past the deadline (active time).
    /// @dev The proof does not name the caller: a copy of a pending fulfill is as valid as the original, and
    /// whoever is mined first is paid (docs/SECURITY.md). Claim first for exclusivity.
    function fulfill(uint256 requestId, bytes calldata output, bytes calldata proof) external;

    /// @notice Answers and settles several requests with one proof (zk: a batch circuit of k slots). The
    /// requests are given in strictly ascending id order, each fulfillable as in `fulfill` and judged by the
    /// same module, model, mode and mode config; the module returns each request's verified output. Each is
    /// paid to the caller, gets its output hash stored and its callback run (each bounded by its own gas
    /// limit; a failing callback does not affect the others).
    function fulfillBatch(uint256[] calldata requestIds, bytes calldata proof) external;

    /// @notice Reopens a claimed request whose operator missed its claim window, slashing part of its stake.
    function reopen(uint256 requestId) external;

    /// @notice Refunds an unanswered request after its deadline. Anyone may call; the requester is credited.
    function refund(uint256 requestId) external;

    /// @notice Withdraws everything owed to the caller in `token`. Works while paused.
    function withdraw(address token) external;

    /// @notice What a request for `modelId` in `mode` would be judged under now:
    /// keccak256(abi.encode(uint256 operatorStake, bytes modeConfig)). Requests pin it (RequestParams.termsHash).
    function termsHashOf(uint256 modelId, uint8 mode) external view returns (bytes32);

    /// @notice Price + verification fee of a request for `modelId` in `mode` paid in `token`.
    function quote(uint256 modelId, uint8 mode, address token) external view returns (uint256 price, uint256 fee);

    /// @notice A request, reverting for an unknown id.
    function getRequest(uint256 requestId) external view returns (Request memory);

    /// @notice keccak256 of the settled output of a finalized request (zero otherwise). The output itself is
    /// in RequestFinalized and was delivered to the callback; a contract handed the bytes later checks them
    /// against this hash.
    function resultHashOf(uint256 requestId) external view returns (bytes32);

    /// @notice What `account` can withdraw in `token`.
    function owed(address account, address token) external view returns (uint256);

    /// @notice Total in `token` held for open requests plus credited but unwithdrawn payments.
    function liabilities(address token) external view returns (uint256);

    /// @notice The lock id under which the market locks the assigned operator's stake.
    function operatorLockId(uint256 requestId, address operator) external view returns (bytes32);

    /// @notice Number of requests created (the highest id).
    function requestCount() external view returns (uint256);

    /// @notice The model registry the market prices and routes requests with.
    function registry() external view returns (IModelRegistry);

    /// @notice The vault holding the stakes the market locks and slashes.
    function vault() external view returns (IStakingVault);

    /// @notice The mode config a request was created with (the module judges the request by it).
    function modeConfigOf(uint256 requestId) external view returns (bytes memory);

    /// @notice Total seconds the market has been paused (active time = block.timestamp - this, when not paused).
    function pausedTotal() external view returns (uint64);
}
